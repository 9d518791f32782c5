/* hammer -- the hot path for bench/probe-cost.sh: N getppid() system calls
 * in a tight loop, timed with CLOCK_MONOTONIC.  Built with gcc -static -O2
 * so it runs in the target VM without libraries.
 *
 *   hammer N [WARMUP]
 *
 * Makes WARMUP (default 10000) untimed calls first, then N timed ones, and
 * prints one line:
 *   hammer calls N warmup W ns T ns_per_call X
 * Every call enters the kernel through __x64_sys_getppid, so a kprobe on it
 * is hit N + W times.  syscall(2) is used, never a libc wrapper that could
 * cache the answer.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hammer N [WARMUP]\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	long w = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
	if (n <= 0 || w < 0) {
		fprintf(stderr, "hammer: bad count\n");
		return 2;
	}
	long sink = 0;
	for (long i = 0; i < w; i++)
		sink += syscall(SYS_getppid);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		sink += syscall(SYS_getppid);
	long long t1 = now_ns();
	printf("hammer calls %ld warmup %ld ns %lld ns_per_call %.1f\n", n, w, t1 - t0,
	       (double)(t1 - t0) / n);
	return sink == -1; /* keeps the loop; never true */
}
