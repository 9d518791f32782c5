/* stap: the command users run.  Options follow stap(1)
 * (translator/driver.c parses them); the passes run here, or on a compile
 * server with --use-server (client/remote.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "driver.h"
#include "elaborate.h"
#include "remote.h"
#include "util.h"

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
		if (o.list_servers)
			rc = list_servers(&o);
		else if (o.trust_servers)
			rc = remote_trust(o.trust_servers, (char *const *)o.servers.v,
					  o.servers.n, o.s.verbose);
		else if (o.use_server)
			rc = compile_remotely(&o);
		else
			rc = stap_translate(&o);
	}
	stap_options_free(&o);
	return rc;
}
