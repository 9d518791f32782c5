/* The privilege levels: SystemTap's bits, frozen (modules carry them in
 * their .stap_privilege section, staprun sends them back as the loader's
 * credentials), and their names.  One copy for the module's runtime
 * (privilege.h), staprun and the translator (translator/privilege.h).
 * The includer provides bool. */
#ifndef STP_PRIVILEGE_LEVELS_H
#define STP_PRIVILEGE_LEVELS_H

#define STP_PR_NONE    0x0
#define STP_PR_STAPUSR 0x2
#define STP_PR_STAPSYS 0x4
#define STP_PR_STAPDEV 0x8

/* have contains every bit of need */
static inline bool stp_pr_contains(int have, int need)
{
	return (have & need) == need;
}

/* SystemTap's name of a mask: its highest level, "none" for 0, "unknown"
 * for bits that name no level. */
static inline const char *stp_pr_name(int mask)
{
	if (stp_pr_contains(mask, STP_PR_STAPDEV))
		return "stapdev";
	if (stp_pr_contains(mask, STP_PR_STAPSYS))
		return "stapsys";
	if (stp_pr_contains(mask, STP_PR_STAPUSR))
		return "stapusr";
	return mask == STP_PR_NONE ? "none" : "unknown";
}

#endif /* STP_PRIVILEGE_LEVELS_H */
