/* One build: passes 1-4 for a request, in a forked child process.
 *
 * The parent makes the request's private directory
 *   DIR/request/   the client's files (script/..., tapset/...), extracted safely
 *   DIR/response/stap000000/   where pass 4 puts the module
 *   DIR/stdout, DIR/stderr     the translator's output
 * then forks.  The child makes itself a process group (so a timeout kills
 * make and the compilers too), sets its resource limits, closes every
 * inherited descriptor, clears its environment, and runs the translator
 * library in client_options mode: no shell, no exec of ours.  The parent
 * waits at most build_timeout_s and then kills the group. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "server.h"

/* Running builds, for a forced shutdown. */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t running[1024];
static size_t nrunning;

static void track(pid_t pid, bool add)
{
	pthread_mutex_lock(&running_lock);
	if (add && nrunning < sizeof running / sizeof running[0]) {
		running[nrunning++] = pid;
	} else if (!add) {
		for (size_t i = 0; i < nrunning; i++)
			if (running[i] == pid)
				running[i] = running[--nrunning];
	}
	pthread_mutex_unlock(&running_lock);
}

void build_kill_all(void)
{
	pthread_mutex_lock(&running_lock);
	for (size_t i = 0; i < nrunning; i++)
		kill(-running[i], SIGKILL);
	pthread_mutex_unlock(&running_lock);
}

static void limit(int what, uint64_t value)
{
	struct rlimit rl = { .rlim_cur = value, .rlim_max = value };
	setrlimit(what, &rl);
}

static void close_inherited(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0) == 0)
		return;
#endif
	for (int fd = 3; fd < 65536; fd++)
		close(fd);
}

/* The child: never returns. */
static void child(struct build_job *job, const char *out_dir)
{
	setpgid(0, 0);
	limit(RLIMIT_CPU, (uint64_t)cfg.build_cpu_s);
	limit(RLIMIT_AS, cfg.build_mem);
	limit(RLIMIT_FSIZE, cfg.build_fsize);
	limit(RLIMIT_CORE, 0);

	char *out = xasprintf("%s/stdout", job->dir), *err = xasprintf("%s/stderr", job->dir);
	char *req = xasprintf("%s/request", job->dir);
	int in = open("/dev/null", O_RDONLY);
	int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	int e = open(err, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
	if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		_exit(120);
	close_inherited();
	if (chdir(req) != 0)
		_exit(121);
	umask(077);

	/* a clean environment: what the translator and kbuild need, the
	 * client's accepted locale, nothing else of the server's */
	char *store = getenv("STAP_KERNEL_STORE") ? xstrdup(getenv("STAP_KERNEL_STORE")) : NULL;
	clearenv();
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	setenv("HOME", job->dir, 1);
	setenv("TMPDIR", job->dir, 1);
	setenv("LC_ALL", "C", 1);
	if (store)
		setenv("STAP_KERNEL_STORE", store, 1);
	if (job->req->nlocale)
		unsetenv("LC_ALL");
	for (size_t i = 0; i < job->req->nlocale; i++)
		putenv(job->req->locale[i]);

	char **argv = xcalloc(job->req->argc + 2, sizeof *argv);
	argv[0] = "stap";
	for (size_t i = 0; i < job->req->argc; i++)
		argv[i + 1] = job->req->argv[i];
	struct stap_mode mode = {
		.client_options = true,
		.kernel = job->kernel->kernel_arg,
		.release = job->kernel->release,
		.out_dir = out_dir,
		.cache_dir = runtime_cache_dir,
	};
	struct stap_options opts;
	int rc = stap_parse_options((int)job->req->argc + 1, argv, &opts, &mode);
	/* The level the server checked, keyed the cache with and signs for
	 * (request.c) must be the one the translator builds: words it reads
	 * differently (an abbreviation, a split form) are refused, never built. */
	if (rc == STAP_OPTS_RUN && strcmp(opts.s.privilege, job->privilege) != 0) {
		fprintf(stderr, "Server: the options ask for --privilege=%s in a form this server "
			"does not read as such (it read %s); give --privilege=LEVEL in full\n",
			opts.s.privilege, job->privilege);
		rc = STAP_OPTS_EXIT_ERROR;
	}
	if (rc == STAP_OPTS_RUN) {
		for (size_t i = 0; i < cfg.includes.n; i++)
			pv_push(&opts.s.include_dirs, cfg.includes.v[i]);
		for (size_t i = 0; i < cfg.defines.n; i++)
			pv_push(&opts.s.defines, cfg.defines.v[i]);
		if (client_wants_v4_transport(job->req))
			pv_push(&opts.s.defines, "STP_TRANSPORT_V4");
		opts.s.tapset_dir = cfg.tapset_dir;
		opts.s.runtime_dir = cfg.runtime_dir;
		rc = stap_translate(&opts);
	} else {
		rc = 1;
	}
	fflush(NULL);
	_exit(rc);
}

/* Replaces every occurrence of the request directory and of HOME by
 * "<server>", as stap-serverd does, but whole paths only: the directory
 * must be followed by '/' or the end of a word. */
static char *hide_paths(char *text, size_t *len, const char *dir)
{
	const char *home = getenv("HOME");
	const char *hide[2] = { dir, home && strcmp(home, "/") && *home ? home : NULL };
	for (int h = 0; h < 2; h++) {
		if (!hide[h])
			continue;
		size_t hl = strlen(hide[h]);
		struct strbuf sb;
		sb_init(&sb);
		const char *p = text, *end = text + *len;
		while (p < end) {
			const char *q = memmem(p, (size_t)(end - p), hide[h], hl);
			if (!q) {
				sb_putn(&sb, p, (size_t)(end - p));
				break;
			}
			char after = q + hl < end ? q[hl] : '\0';
			sb_putn(&sb, p, (size_t)(q - p));
			if (after == '/' || after == '\0' || after == '\n' || after == ' ' ||
			    after == '\'' || after == '"' || after == ':')
				sb_puts(&sb, "<server>");
			else
				sb_putn(&sb, q, hl);
			p = q + hl;
		}
		free(text);
		*len = sb.len;
		text = sb_detach(&sb);
	}
	return text;
}

static char *slurp(const char *path, size_t *len)
{
	char *s = read_file_bounded(path, 64u << 20, len);
	if (!s) {
		*len = 0;
		return xstrdup("");
	}
	return s;
}

/* The one NAME.ko pass 4 left in out_dir. */
static void take_module(const char *out_dir, struct build_result *r)
{
	DIR *d = opendir(out_dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n > 3 && strcmp(e->d_name + n - 3, ".ko") == 0 && !r->module_name) {
			char *p = xasprintf("%s/%s", out_dir, e->d_name);
			r->module = (unsigned char *)read_file_bounded(p, 1u << 30, &r->modlen);
			if (r->module)
				r->module_name = xstrdup(e->d_name);
			free(p);
		}
	}
	closedir(d);
}

static int wait_for(pid_t pid, int timeout_s, bool *timed_out)
{
	struct timespec start, now, nap = { 0, 20 * 1000 * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &start);
	*timed_out = false;
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return status;
		if (w < 0 && errno != EINTR)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout_s) {
			*timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return status;
		}
		nanosleep(&nap, NULL);
	}
}

int build_run(struct build_job *job, struct build_result *r)
{
	memset(r, 0, sizeof *r);
	char err[256];
	char *req = xasprintf("%s/request", job->dir);
	char *resp = xasprintf("%s/response", job->dir);
	char *out_dir = xasprintf("%s/response/stap000000", job->dir);
	int rc = -1;
	if (mkdir(req, 0700) != 0 || mkdir(resp, 0700) != 0 || mkdir(out_dir, 0700) != 0) {
		r->err = xasprintf("Server: cannot make the request directory: %s\n", strerror(errno));
		goto out;
	}
	int dfd = open(req, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || zip_extract_at(job->files, dfd, err, sizeof err) != 0) {
		r->err = xasprintf("Server: cannot unpack the request: %s\n",
				   dfd < 0 ? strerror(errno) : err);
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	close(dfd);

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r->err = xasprintf("Server: cannot start a build: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(job, out_dir);
	setpgid(pid, pid);	/* also here: no race with the kill below */
	track(pid, true);
	bool timed_out;
	int status = wait_for(pid, cfg.build_timeout_s, &timed_out);
	track(pid, false);

	char *p = xasprintf("%s/stdout", job->dir);
	r->out = hide_paths(slurp(p, &r->outlen), &r->outlen, job->dir);
	free(p);
	p = xasprintf("%s/stderr", job->dir);
	r->err = hide_paths(slurp(p, &r->errlen), &r->errlen, job->dir);
	free(p);
	struct strbuf extra;
	sb_init(&extra);
	r->transient = timed_out || status == -1 || WIFSIGNALED(status) ||
		       (WIFEXITED(status) && WEXITSTATUS(status) >= 120);
	if (timed_out) {
		sb_printf(&extra, "Server: the build took longer than its limit of %d s and was "
			  "stopped\n", cfg.build_timeout_s);
		r->rc = 1;
	} else if (status != -1 && WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		sb_printf(&extra, "Server: the build was killed by signal %d (%s)%s\n", sig,
			  strsignal(sig), sig == SIGXCPU ? ": CPU time limit" :
			  sig == SIGXFSZ ? ": file size limit" : "");
		r->rc = 1;
	} else if (status != -1 && WIFEXITED(status)) {
		r->rc = WEXITSTATUS(status);
		if (r->rc >= 120 && r->rc <= 121)
			sb_printf(&extra, "Server: the build could not be set up (%d)\n", r->rc);
	} else {
		r->rc = 1;
	}
	if (extra.len) {
		r->err = xrealloc(r->err, r->errlen + extra.len + 1);
		memcpy(r->err + r->errlen, extra.s, extra.len + 1);
		r->errlen += extra.len;
	}
	sb_free(&extra);
	if (r->rc == 0)
		take_module(out_dir, r);
	rc = 0;
out:
	if (!r->err)
		r->err = xstrdup("");
	if (!r->out)
		r->out = xstrdup("");
	if (rc != 0) {
		r->rc = 1;
		r->errlen = strlen(r->err);
		r->transient = true;
	}
	free(req);
	free(resp);
	free(out_dir);
	return rc;
}
