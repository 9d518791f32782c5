/* stap: the command users run.  Options follow stap(1)
 * (translator/driver.c parses them); the passes run here, or on a compile
 * server with --use-server (client/remote.c). */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "driver.h"
#include "elaborate.h"
#include "../runtime/staprun/privilege.h"   /* the groups' levels, as staprun reckons them */
#include "remote.h"
#include "util.h"

/* The levels the user's groups give, as SystemTap reckons them: all for a
 * real uid of root, else from the effective gid and the supplementary
 * groups, stapdev implying stapsys implying stapusr. */
static int user_credentials(void)
{
	if (getuid() == 0)
		return STP_PR_ALL;
	struct stp_groups g = { 0 };
	stp_groups_lookup(&g);
	gid_t groups[NGROUPS_MAX];
	int n = getgroups(NGROUPS_MAX, groups);
	if (n < 0) {
		fprintf(stderr, "Unable to retrieve group list\n");
		return STP_PR_NONE;
	}
	return stp_credentials(&g, getegid(), groups, (size_t)n);
}

/* SystemTap's automatic options.  Pass 5 of a script by a user without
 * stapdev: the level drops to what the user's groups give (unless
 * --privilege was given) and --use-server is switched on, since staprun
 * loads such a user's module only when a trusted server signed it; a user
 * in none of the groups is told so.  A kernel that loads only signed
 * modules switches --use-server on for everyone.  The reasons go to
 * `why`, printed with -v or after a failure.  False: stop (told why). */
static bool auto_options(struct stap_options *o, struct ptrvec *why)
{
	if (o->pass >= 5 && (o->script || o->inline_script)) {
		int cred = user_credentials();
		if (!o->privilege_given && !stp_pr_contains(cred, STP_PR_STAPDEV)) {
			if (!stp_pr_contains(cred, STP_PR_STAPUSR)) {
				fprintf(stderr, "You are trying to run systemtap as a normal user.\n"
					"You should either be root, or be part of the group \"stapusr\" "
					"and possibly one of the groups \"stapsys\" or \"stapdev\".  "
					"[man stap]\n"
					"Try 'stap --help' for more information.\n");
				return false;
			}
			bool sys = stp_pr_contains(cred, STP_PR_STAPSYS);
			o->s.privilege = sys ? "stapsys" : "stapusr";
			pv_push(&o->server_words, xasprintf("--privilege=%s", o->s.privilege));
			pv_push(why, xstrdup(sys ? "--privilege=stapsys was automatically selected because "
						   "you are a member of the groups stapusr and stapsys.  "
						   "[man stap]"
						 : "--privilege=stapusr was automatically selected because "
						   "you are a member of the group stapusr.  [man stap]"));
			if (o->s.guru) {
				fprintf(stderr, "You can't specify -g and --privilege=%s together.\n",
					o->s.privilege);
				return false;
			}
		}
		if (!stp_pr_contains(cred, STP_PR_STAPDEV)) {
			o->use_server = true;
			pv_push(why, xasprintf("For users with the privilege level %s, the module created "
					       "by compiling your script must be signed by a trusted "
					       "systemtap compile-server.  [man stap-server]",
					       stp_pr_name(cred)));
		}
	}
	if (modules_must_be_signed()) {
		o->use_server = true;
		pv_push(why, xstrdup("The kernel on your system requires modules to be signed for "
				     "loading.\nThe module created by compiling your script must be "
				     "signed by a systemtap compile-server.  [man stap-server]"));
	}
	return true;
}

/* SystemTap's explanation of the automatic options: the level first. */
static void explain_auto_options(const struct ptrvec *why)
{
	for (size_t i = 0; i < why->n; i++) {
		const char *w = why->v[i];
		fprintf(stderr, "%s\n", w);
		if (strncmp(w, "--privilege=", 12) != 0)
			fprintf(stderr, "--use-server was automatically selected in order to request "
				"compilation by a compile-server.\n");
	}
}

/* --use-server: passes 1-4 on the server, pass 5 here. */
static int compile_remotely(struct stap_options *o)
{
	struct utsname u;
	uname(&u);
	struct remote_request rq = {
		.script_path = o->script,
		.include_dirs = (char *const *)o->s.include_dirs.v,
		.ninclude = o->s.include_dirs.n,
		.words = (char *const *)o->server_words.v,
		.nwords = o->server_words.n,
		.script_args = o->s.args,
		.nargs = (size_t)o->s.nargs,
		.kernel_release = o->kernel ? o->kernel : u.release,
		.arch = o->arch ? o->arch : u.machine,
		.foreign_kernel = (o->kernel && strcmp(o->kernel, u.release) != 0) ||
				  (o->arch && strcmp(o->arch, u.machine) != 0),
		.last_pass = o->pass,
		.module_name_given = o->s.module_name != NULL,
		.verbose = o->s.verbose,
		.keep_tmp = o->keep,
		.privilege = o->s.privilege,
	};
	if (rq.foreign_kernel && rq.last_pass > 4) {
		fprintf(stderr, "kernel release/architecture mismatch with host forces last-pass 4.\n");
		rq.last_pass = 4;
	}
	char *ko = NULL;
	int rc = o->http_server ? remote_http_compile(o->http_server, &rq, &ko)
				: remote_compile((char *const *)o->servers.v, o->servers.n, &rq, &ko);
	if (rc == 0 && rq.last_pass == 5 && ko) {
		o->s.kernel.release = xstrdup(rq.kernel_release);
		run_staprun(&o->s, ko);	/* returns only on failure */
		rc = 1;
	}
	free(ko);
	return rc;
}

/* --list-servers: "compatible" is judged for -r/-a or this machine. */
static int list_servers(struct stap_options *o)
{
	struct utsname u;
	uname(&u);
	struct remote_request rq = {
		.kernel_release = o->kernel ? o->kernel : u.release,
		.arch = o->arch ? o->arch : u.machine,
		.privilege = o->s.privilege,
	};
	return remote_list_servers(o->list_servers, (char *const *)o->servers.v, o->servers.n, &rq);
}

int main(int argc, char **argv)
{
	progname = "stap";
	struct stap_options o;
	int rc;
	switch (stap_parse_options(argc, argv, &o, NULL)) {
	case STAP_OPTS_EXIT_OK:
		rc = 0;
		break;
	case STAP_OPTS_EXIT_ERROR:
		rc = 1;
		break;
	default:
		if (o.list_servers) {
			rc = list_servers(&o);
		} else if (o.trust_servers) {
			rc = remote_trust(o.trust_servers, (char *const *)o.servers.v,
					  o.servers.n, o.s.verbose);
		} else {
			struct ptrvec why = { 0 };
			if (!auto_options(&o, &why)) {
				rc = 1;
			} else {
				if (o.s.verbose >= 1)
					explain_auto_options(&why);
				rc = o.use_server ? compile_remotely(&o) : stap_translate(&o);
				if (rc != 0 && o.s.verbose < 1)
					explain_auto_options(&why);
			}
			for (size_t i = 0; i < why.n; i++)
				free(why.v[i]);
			pv_free(&why);
		}
	}
	stap_options_free(&o);
	return rc;
}
