/* Privilege levels: names, bits, and the rule for calls of functions with
 * embedded C (see privilege.h). */
#include <string.h>

#include "ast.h"
#include "privilege.h"

int privilege_from_name(const char *name)
{
	static const int levels[] = { PR_STAPDEV, PR_STAPSYS, PR_STAPUSR };
	for (size_t k = 0; name && k < sizeof levels / sizeof levels[0]; k++)
		if (!strcmp(name, privilege_name(levels[k])))
			return levels[k];
	return PR_NONE;
}

bool privilege_is_unprivileged(int level)
{
	return !privilege_contains(level, PR_STAPDEV) && !privilege_contains(level, PR_STAPSYS);
}

/* Pragmas are matched as SystemTap matches them: anywhere in the code. */
static bool tagged(const char *code, const char *pragma)
{
	return strstr(code, pragma) != NULL;
}

enum call_refusal privilege_code_refusal(int level, const char *code, bool caller_privileged)
{
	if (privilege_is_unprivileged(level) && !tagged(code, "/* unprivileged */") &&
	    !tagged(code, "/* myproc-unprivileged */"))
		return CALL_NEEDS_PRIVILEGE;
	if (!caller_privileged && tagged(code, "/* guru */"))
		return CALL_NEEDS_GURU;
	return CALL_ALLOWED;
}

static enum call_refusal stmt_refusal(int level, const struct stmt *st, bool caller_privileged)
{
	if (!st)
		return CALL_ALLOWED;
	if (st->kind == S_EMBEDDED)
		return privilege_code_refusal(level, st->code, caller_privileged);
	enum call_refusal r = CALL_ALLOWED;
	for (int k = 0; k < st->nbody && r == CALL_ALLOWED; k++)
		r = stmt_refusal(level, st->body[k], caller_privileged);
	if (r == CALL_ALLOWED)
		r = stmt_refusal(level, st->then, caller_privileged);
	if (r == CALL_ALLOWED)
		r = stmt_refusal(level, st->els, caller_privileged);
	return r;
}

enum call_refusal privilege_call_refusal(int level, const struct functiondecl *f,
					 bool caller_privileged)
{
	if (f->embedded)
		return privilege_code_refusal(level, f->embedded, caller_privileged);
	return stmt_refusal(level, f->body, caller_privileged);
}
