/* Privilege decisions; see privilege.h.  Nothing here does I/O but
 * stp_groups_lookup's reading of the group database. */
#include "privilege.h"

#include <ctype.h>
#include <grp.h>
#include <stdint.h>
#include <string.h>

static int mask_of(const struct stp_groups *g, gid_t gid)
{
	if (g->have_dev && gid == g->dev)
		return STP_PR_ALL;
	if (g->have_sys && gid == g->sys)
		return STP_PR_STAPSYS | STP_PR_STAPUSR;
	if (g->have_usr && gid == g->usr)
		return STP_PR_STAPUSR;
	return STP_PR_NONE;
}

static void lookup_group(const char *name, gid_t *gid, bool *have)
{
	struct group *gr = getgrnam(name);

	*have = gr != NULL;
	if (gr)
		*gid = gr->gr_gid;
}

void stp_groups_lookup(struct stp_groups *g)
{
	lookup_group("stapusr", &g->usr, &g->have_usr);
	lookup_group("stapsys", &g->sys, &g->have_sys);
	lookup_group("stapdev", &g->dev, &g->have_dev);
}

int stp_credentials(const struct stp_groups *g, gid_t gid, const gid_t *groups, size_t n)
{
	int mask = mask_of(g, gid);

	for (size_t i = 0; i < n; i++)
		mask |= mask_of(g, groups[i]);
	return mask;
}

int stp_required_from_section(bool present, const void *data, size_t len)
{
	int32_t v;

	if (!present)
		return STP_PR_STAPUSR;
	if (len != sizeof(v))
		return STP_PR_STAPDEV;
	memcpy(&v, data, sizeof(v));
	if (v == STP_PR_STAPUSR || v == STP_PR_STAPSYS || v == STP_PR_STAPDEV)
		return v;
	return STP_PR_STAPDEV;
}

bool stp_modname_allowed(const char *name)
{
	size_t n = strlen(name);

	if (n <= 5 || n > 55 || strncmp(name, "stap_", 5) != 0)
		return false;
	for (size_t i = 5; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return false;
	return true;
}
