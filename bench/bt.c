/* bt -- run a command N times and report its timing and peak memory.
 *
 *   bt [-n RUNS] [-w WARMUP] [-o OUTFILE] [-e ERRFILE] -- CMD [ARGS...]
 *
 * Runs CMD WARMUP times untimed (default 1, to warm the page cache), then
 * RUNS times (default 7), each time with stdin from /dev/null and stdout /
 * stderr sent to OUTFILE / ERRFILE (default /dev/null; the files keep the
 * output of the last run).  Wall time is taken with CLOCK_MONOTONIC around
 * fork..wait4; peak memory is ru_maxrss from wait4 (KiB; the kernel folds
 * in the child's own reaped children, so `gcc` includes `cc1`).
 *
 * Prints one line:
 *   median_us min_us max_us maxrss_kib failed_runs last_exit_status
 * where maxrss_kib is the largest over the timed runs.  bt itself exits 0
 * unless CMD could not be run at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* Run argv once; returns exit status (or 128+signal), -1 if exec failed.
 * Stores elapsed ns and max RSS (KiB). */
static int run_once(char **argv, const char *out, const char *err, long long *ns, long *rss)
{
	long long t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("bt: fork");
		exit(2);
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || o < 0 || e < 0)
			_exit(126);
		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("bt: wait4");
			exit(2);
		}
	}
	*ns = now_ns() - t0;
	*rss = ru.ru_maxrss;
	if (WIFEXITED(st))
		return WEXITSTATUS(st) == 127 ? -1 : WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	int runs = 7, warm = 1;
	const char *out = "/dev/null", *err = "/dev/null";
	int opt;
	while ((opt = getopt(argc, argv, "+n:w:o:e:")) != -1) {
		switch (opt) {
		case 'n': runs = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 'o': out = optarg; break;
		case 'e': err = optarg; break;
		default:
			fprintf(stderr, "usage: bt [-n RUNS] [-w WARMUP] [-o OUT] [-e ERR] -- CMD [ARGS...]\n");
			return 2;
		}
	}
	if (optind >= argc || runs < 1) {
		fprintf(stderr, "bt: no command\n");
		return 2;
	}
	char **cmd = argv + optind;
	long long ns;
	long rss, maxrss = 0;
	int rc = 0, failed = 0;
	for (int k = 0; k < warm; k++)
		if (run_once(cmd, out, err, &ns, &rss) < 0) {
			fprintf(stderr, "bt: cannot run %s\n", cmd[0]);
			return 2;
		}
	long long *t = calloc(runs, sizeof *t);
	for (int k = 0; k < runs; k++) {
		rc = run_once(cmd, out, err, &t[k], &rss);
		if (rc < 0) {
			fprintf(stderr, "bt: cannot run %s\n", cmd[0]);
			return 2;
		}
		if (rc)
			failed++;
		if (rss > maxrss)
			maxrss = rss;
	}
	qsort(t, runs, sizeof *t, cmp_ll);
	long long med = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
	printf("%lld %lld %lld %ld %d %d\n", med / 1000, t[0] / 1000, t[runs - 1] / 1000,
	       maxrss, failed, rc);
	free(t);
	return 0;
}
