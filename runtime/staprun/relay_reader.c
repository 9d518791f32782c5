/* Reader and serializer threads; see relay_reader.h.
 *
 * Threading: readers own their fd and framer; everything in `ser` is
 * guarded by ser.lock.  The writer thread is the only user of `out`. */
#define _GNU_SOURCE
#include "relay_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STP_MAX_TRACE_FILES 1024
#define STP_SERIAL_WAIT_MS 2000

struct reader {
	int cpu;
	int fd;
	pthread_t thread;
	struct stp_framer framer;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct stp_serial serial;
	bool drain;			/* readers are done: emit everything */
	bool quit;			/* writer: exit once empty */
	uint64_t bytes, records;
} ser = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static struct reader *readers;
static int nreaders;
static pthread_t writer;
static volatile int stop_readers;	/* written once by the main thread */
static bool started;
static int poll_ms;
static FILE *outfp;
static int verbosity;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads all that is there now; returns false on a hard error. */
static bool read_available(struct reader *r, char *buf, size_t cap)
{
	for (;;) {
		ssize_t n = read(r->fd, buf, cap);
		uint32_t seq, len;
		char *payload;
		int got;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 || errno == ENODATA || errno == EAGAIN;
		if (stp_framer_feed(&r->framer, buf, (size_t)n))
			return false;
		pthread_mutex_lock(&ser.lock);
		while ((got = stp_framer_next(&r->framer, &seq, &payload, &len)) == 1)
			stp_serial_push(&ser.serial, seq, payload, len, now_ms());
		pthread_cond_signal(&ser.cond);
		pthread_mutex_unlock(&ser.lock);
		if (got < 0)
			return false;
	}
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	size_t cap = 256 * 1024;
	char *buf = malloc(cap);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort */
	if (!buf)
		return NULL;
	for (;;) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		bool last = stop_readers;

		if (!last)
			poll(&p, 1, poll_ms);
		if (!read_available(r, buf, cap)) {
			fprintf(stderr, "stapio: reading trace%d: %s\n", r->cpu,
				strerror(errno));
			break;
		}
		if (last)
			break;
	}
	free(buf);
	return NULL;
}

static void *writer_main(void *arg)
{
	struct stp_record rec;

	(void)arg;
	pthread_mutex_lock(&ser.lock);
	for (;;) {
		long wait;

		while (stp_serial_pop(&ser.serial, now_ms(), ser.drain, &rec)) {
			ser.bytes += rec.len;
			ser.records++;
			pthread_mutex_unlock(&ser.lock);
			fwrite(rec.data, 1, rec.len, outfp);
			free(rec.data);
			pthread_mutex_lock(&ser.lock);
		}
		fflush(outfp);
		if (ser.quit && ser.serial.n == 0)
			break;
		wait = stp_serial_timeout(&ser.serial, now_ms());
		if (wait < 0 || wait > 200)
			wait = 200;
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += wait * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&ser.cond, &ser.lock, &ts);
		}
	}
	pthread_mutex_unlock(&ser.lock);
	return NULL;
}

int stp_relay_start(int dirfd, enum stp_numbering num, FILE *out,
		    int timeout_ms, bool resumed, int verbose)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	int i;

	if (started)
		return 0;
	if (ncpu < 1 || ncpu > STP_MAX_TRACE_FILES)
		ncpu = STP_MAX_TRACE_FILES;
	readers = calloc((size_t)ncpu, sizeof(*readers));
	if (!readers)
		return -1;
	poll_ms = timeout_ms;
	outfp = out;
	verbosity = verbose;
	stp_serial_init(&ser.serial, STP_SERIAL_WAIT_MS);
	ser.serial.resumed = resumed;
	for (i = 0; i < ncpu; i++) {
		char name[32];
		int fd;

		snprintf(name, sizeof(name), "trace%d", i);
		fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;	/* CPU was offline at load */
			fprintf(stderr, "stapio: cannot open %s: %s\n", name, strerror(errno));
			goto fail;
		}
		readers[nreaders].cpu = i;
		readers[nreaders].fd = fd;
		stp_framer_init(&readers[nreaders].framer, num);
		nreaders++;
	}
	if (!nreaders) {
		fprintf(stderr, "stapio: no trace files in the module directory\n");
		goto fail;
	}
	for (i = 0; i < nreaders; i++)
		if (pthread_create(&readers[i].thread, NULL, reader_main, &readers[i])) {
			nreaders = i;
			goto fail_threads;
		}
	if (pthread_create(&writer, NULL, writer_main, NULL))
		goto fail_threads;
	started = true;
	return 0;

fail_threads:
	stop_readers = 1;
	for (i = 0; i < nreaders; i++)
		pthread_join(readers[i].thread, NULL);
fail:
	for (i = 0; i < nreaders; i++)
		close(readers[i].fd);
	nreaders = 0;
	return -1;
}

void stp_relay_stop(bool now)
{
	uint64_t skipped = 0, bad = 0;
	int i;

	if (!started)
		return;
	stop_readers = 1;
	for (i = 0; i < nreaders; i++) {
		pthread_join(readers[i].thread, NULL);
		close(readers[i].fd);
		skipped += readers[i].framer.skipped_bytes;
		bad += readers[i].framer.bad_headers;
		stp_framer_free(&readers[i].framer);
	}
	pthread_mutex_lock(&ser.lock);
	ser.drain = true;
	ser.quit = true;
	if (now)
		stp_serial_free(&ser.serial);	/* pending output is dropped */
	pthread_cond_signal(&ser.cond);
	pthread_mutex_unlock(&ser.lock);
	pthread_join(writer, NULL);
	if (ser.serial.lost_msgs || skipped || ser.serial.unexpected || bad)
		fprintf(stderr, "WARNING: There were %llu lost messages, %llu lost bytes, and %llu unexpected sequences.\n",
			(unsigned long long)ser.serial.lost_msgs,
			(unsigned long long)skipped,
			(unsigned long long)ser.serial.unexpected);
	if (verbosity)
		fprintf(stderr, "stapio: relayed %llu records, %llu bytes\n",
			(unsigned long long)ser.records, (unsigned long long)ser.bytes);
	stp_serial_free(&ser.serial);
	free(readers);
	readers = NULL;
	nreaders = 0;
	started = false;
}

void stp_relay_counts(uint64_t *bytes, uint64_t *records)
{
	pthread_mutex_lock(&ser.lock);
	*bytes = ser.bytes;
	*records = ser.records;
	pthread_mutex_unlock(&ser.lock);
}
