/* stap-serverd: the compile server.  Options, start-up (certificate,
 * NSS, cache, kernels), the listening socket and the accept loop; the
 * rest lives in conn.c (one connection), queue.c and build.c (builds),
 * cache.c and kstore.c.  The threading model is described in server.h. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <prerror.h>
#include <prio.h>
#include <prnetdb.h>
#include <pthread.h>
#include <sechash.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#ifndef STAP_RUNTIME_DIR
#define STAP_RUNTIME_DIR "/usr/local/share/systemtap/runtime/kernel"
#endif
#ifndef STAP_TAPSET_DIR
#define STAP_TAPSET_DIR "/usr/local/share/systemtap/tapset"
#endif

struct server_config cfg = {
	.arch = "x86_64",
	.max_privilege = "stapdev",
	.max_conns = 256,
	.max_compressed = 16u << 20,
	.max_uncompressed = 64u << 20,
	.idle_timeout_s = 30,
	.read_timeout_s = 120,
	.write_timeout_s = 120,
	.build_timeout_s = 600,
	.build_cpu_s = 600,
	.build_mem = 4ull << 30,
	.build_fsize = 1ull << 30,
	.cache_max = 2ull << 30,
};

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t reload_signal;  /* SIGHUP: reload (see reload()) */
static const char *config_path;              /* --config FILE */
int server_port;
char *runtime_cache_dir;
static atomic_int active_conns;

static void usage(FILE *out)
{
	fprintf(out,
"Usage: stap-serverd [OPTIONS]\n"
"SystemTap-compatible compile server: builds modules for the kernels it has\n"
"for clients that run `stap --use-server`, over TLS.\n"
"\n"
"  --port N                   listen on port N (default 0: any free port, logged)\n"
"  --listen ADDR              listen on ADDR only (default: every address)\n"
"  -r KVER|DIR                also build for this kernel (repeatable); the kernel\n"
"                             store and the running kernel are always served\n"
"  -i                         also build for every /lib/modules/*/build\n"
"  -a ARCH                    architecture (x86_64 only)\n"
"  -I DIR, -D NAME[=VAL]      passed to every build\n"
"  -R DIR                     module runtime sources (default %s)\n"
"  -B OPT                     accepted for compatibility, ignored\n"
"  --ssl=DIR                  certificate database (default $SYSTEMTAP_DIR/ssl/server)\n"
"  --log=FILE                 append the log to FILE (default: stderr)\n"
"  --max-threads N            builds at once (default: CPUs; 0: one at a time)\n"
"  --max-request-size N       largest uncompressed request (default 64M)\n"
"  --max-compressed-request N largest request on the wire (default 16M)\n"
"  --privilege=LEVEL          build at most stapusr, stapsys or stapdev (default)\n"
"  --cache=DIR                module cache (default $SYSTEMTAP_DIR/server-cache)\n"
"  --cache-size N             bound of the cache (default 2G; 0 disables it)\n"
"  --build-timeout S, --build-cpu S, --build-memory N\n"
"                             limits of one build (defaults 600, 600, 4G)\n"
"  --idle-timeout S, --read-timeout S\n"
"                             limits for a client's request (defaults 30, 120)\n"
"  -k                         keep each request's directory (logged)\n"
"  --no-avahi                 do not announce the server on the LAN (_stap._tcp)\n"
"  --http-port N              also serve the HTTP/JSON API on port N (0 = off, the default)\n"
"  --http-listen ADDR         its address (default: --listen's, else every address)\n"
"  --http-plain               plain HTTP instead of HTTPS (loopback addresses only)\n"
"  -h, --help                 this help;  -V, --version\n"
"\n"
"  --config=FILE              read options from FILE's KEY=VALUE lines first\n"
"                             (docs/stap-serverd.8; the command line wins)\n"
"\n"
"Sizes take K, M or G.  SIGINT or SIGTERM: stop accepting, finish the requests\n"
"in progress, exit; a second signal stops at once.  SIGHUP: reopen the log,\n"
"read --config again, reload the certificate if it changed or expired.\n",
		STAP_RUNTIME_DIR);
}

bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end || (shift && v > (ULLONG_MAX >> shift)))
		return false;
	*out = v << shift;
	return true;
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "stap-serverd: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

enum {
	OPT_PORT = 256, OPT_LISTEN, OPT_SSL, OPT_LOG, OPT_MAXTHREADS, OPT_MAXREQ, OPT_MAXCREQ,
	OPT_PRIV, OPT_CACHE, OPT_CACHE_SIZE, OPT_BTIME, OPT_BCPU, OPT_BMEM, OPT_IDLE, OPT_READ,
	OPT_NO_AVAHI, OPT_CONFIG, OPT_HTTP_PORT, OPT_HTTP_LISTEN, OPT_HTTP_PLAIN,
};

/* argv[first_own..] is the command line; before it, --config's options. */
static void parse_args(int argc, char **argv, int first_own)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, OPT_PORT },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "ssl", required_argument, NULL, OPT_SSL },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "max-threads", required_argument, NULL, OPT_MAXTHREADS },
		{ "max-request-size", required_argument, NULL, OPT_MAXREQ },
		{ "max-compressed-request", required_argument, NULL, OPT_MAXCREQ },
		{ "privilege", required_argument, NULL, OPT_PRIV },
		{ "cache", required_argument, NULL, OPT_CACHE },
		{ "cache-size", required_argument, NULL, OPT_CACHE_SIZE },
		{ "build-timeout", required_argument, NULL, OPT_BTIME },
		{ "build-cpu", required_argument, NULL, OPT_BCPU },
		{ "build-memory", required_argument, NULL, OPT_BMEM },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "read-timeout", required_argument, NULL, OPT_READ },
		{ "no-avahi", no_argument, NULL, OPT_NO_AVAHI },
		{ "http-port", required_argument, NULL, OPT_HTTP_PORT },
		{ "http-listen", required_argument, NULL, OPT_HTTP_LISTEN },
		{ "http-plain", no_argument, NULL, OPT_HTTP_PLAIN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ NULL, 0, NULL, 0 },
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cfg.max_builds = ncpu > 0 ? (int)ncpu : 1;
	int c, at, li;
	uint64_t size;
	/* The file's options are whole and come first, so getopt's permuting
	 * never moves them: an option read at or after first_own is the
	 * command line's. */
	while ((at = optind, li = -1,
		c = getopt_long(argc, argv, "r:ia:B:I:R:D:kPhV", longopts, &li)) != -1) {
		if (li >= 0 && at >= first_own)
			config_command_line_option(longopts[li].name);
		switch (c) {
		case 'r': pv_push(&cfg.kernels, optarg); break;
		case 'i': cfg.all_kernels = true; break;
		case 'a':
			if (strcmp(optarg, "x86_64") != 0)
				die("-a %s: this server builds for x86_64 only", optarg);
			cfg.arch = optarg;
			break;
		case 'B': pv_push(&cfg.build_opts, optarg); break;
		case 'I': pv_push(&cfg.includes, optarg); break;
		case 'D': pv_push(&cfg.defines, optarg); break;
		case 'R': cfg.runtime = optarg; break;
		case 'k': cfg.keep = true; break;
		case 'P': die("%s", "-P (database passwords) is not supported"); break;
		case 'h': usage(stdout); exit(0);
		case 'V':
			printf("stap-serverd (stapcs %s), protocol %s\n", PACKAGE_VERSION,
			       CS_PROTOCOL_VERSION);
			exit(0);
		case OPT_PORT:
			if (!parse_int(optarg, 0, 65535, &cfg.port))
				die("--port %s: not a port number", optarg);
			break;
		case OPT_LISTEN: cfg.listen = optarg; break;
		case OPT_SSL: cfg.ssl_dir = optarg; break;
		case OPT_LOG: cfg.log_path = optarg; break;
		case OPT_MAXTHREADS:
			if (!parse_int(optarg, 0, 1024, &cfg.max_builds))
				die("--max-threads %s: a number from 0 to 1024", optarg);
			break;
		case OPT_MAXREQ:
		case OPT_MAXCREQ:
			if (!parse_size(optarg, &size) || size == 0 || size > (1ull << 31) - 1)
				die("%s: a size from 1 to 2G-1", optarg);
			if (c == OPT_MAXREQ)
				cfg.max_uncompressed = size;
			else
				cfg.max_compressed = size;
			break;
		case OPT_PRIV:
			if (strcmp(optarg, "stapusr") && strcmp(optarg, "stapsys") &&
			    strcmp(optarg, "stapdev"))
				die("--privilege=%s: stapusr, stapsys or stapdev", optarg);
			cfg.max_privilege = optarg;
			break;
		case OPT_CACHE: cfg.cache_dir = optarg; break;
		case OPT_CACHE_SIZE:
			if (!parse_size(optarg, &cfg.cache_max))
				die("--cache-size %s: not a size", optarg);
			break;
		case OPT_BTIME:
			if (!parse_int(optarg, 1, 86400, &cfg.build_timeout_s))
				die("--build-timeout %s: seconds from 1 to 86400", optarg);
			break;
		case OPT_BCPU:
			if (!parse_int(optarg, 1, 86400, &cfg.build_cpu_s))
				die("--build-cpu %s: seconds from 1 to 86400", optarg);
			break;
		case OPT_BMEM:
			if (!parse_size(optarg, &cfg.build_mem) || cfg.build_mem < (64u << 20))
				die("--build-memory %s: a size of at least 64M", optarg);
			break;
		case OPT_IDLE:
			if (!parse_int(optarg, 1, 3600, &cfg.idle_timeout_s))
				die("--idle-timeout %s: seconds from 1 to 3600", optarg);
			break;
		case OPT_READ:
			if (!parse_int(optarg, 1, 3600, &cfg.read_timeout_s))
				die("--read-timeout %s: seconds from 1 to 3600", optarg);
			break;
		case OPT_NO_AVAHI: avahi_enabled = false; break;
		case OPT_HTTP_PORT:
			if (!parse_int(optarg, 0, 65535, &http_port))
				die("--http-port %s: a port from 0 (off) to 65535", optarg);
			break;
		case OPT_HTTP_LISTEN: http_listen = optarg; break;
		case OPT_HTTP_PLAIN: http_plain = true; break;
		case OPT_CONFIG: break;	/* read before the rest (parse_with_config) */
		default:
			fprintf(stderr, "Try 'stap-serverd --help' for more information.\n");
			exit(1);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
}

/* --- the toolchain hash: translator version, tapsets, runtime ------------------------- */

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hash_tree(HASHContext *h, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d || depth > 8) {
		if (d)
			closedir(d);
		return;
	}
	struct ptrvec names = { 0 };
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			pv_push(&names, xstrdup(e->d_name));
	closedir(d);
	qsort(names.v, names.n, sizeof *names.v, by_str);
	for (size_t i = 0; i < names.n; i++) {
		char *p = xasprintf("%s/%s", dir, (char *)names.v[i]);
		struct stat st;
		if (lstat(p, &st) == 0) {
			HASH_Update(h, (const unsigned char *)names.v[i], (unsigned)strlen(names.v[i]) + 1);
			if (S_ISDIR(st.st_mode)) {
				hash_tree(h, p, depth + 1);
			} else if (S_ISREG(st.st_mode)) {
				size_t len;
				char *data = read_file_bounded(p, 64u << 20, &len);
				if (data)
					HASH_Update(h, (const unsigned char *)data, (unsigned)len);
				free(data);
			}
		}
		free(p);
		free(names.v[i]);
	}
	pv_free(&names);
}

static void make_toolchain_hash(void)
{
	HASHContext *h = HASH_Create(HASH_AlgSHA256);
	HASH_Begin(h);
	HASH_Update(h, (const unsigned char *)PACKAGE_VERSION, sizeof PACKAGE_VERSION);
	hash_tree(h, cfg.tapset_dir, 0);
	hash_tree(h, cfg.runtime_dir, 0);
	unsigned char d[32];
	unsigned len;
	HASH_End(h, d, &len, sizeof d);
	HASH_Destroy(h);
	for (int i = 0; i < 32; i++)
		sprintf(toolchain_hash + 2 * i, "%02x", d[i]);
}

/* --- start-up ------------------------------------------------------------------------------- */

static char *systemtap_dir(void)
{
	const char *d = getenv("SYSTEMTAP_DIR");
	if (d && *d)
		return xstrdup(d);
	const char *home = getenv("HOME");
	return xasprintf("%s/.systemtap", home && *home ? home : "/");
}


static struct server_identity identity;

/* The identity of the database files loaded, to see on SIGHUP whether
 * they were replaced (stap-gen-cert) since. */
struct db_stamp {
	dev_t dev[2];
	ino_t ino[2];
	off_t size[2];
	struct timespec mtime[2];
};
static struct db_stamp cert_stamp;
static const char *cert_stapdir;

static void db_stamp_take(const char *ssl, struct db_stamp *st)
{
	static const char *const files[2] = { "cert9.db", "key4.db" };
	memset(st, 0, sizeof *st);
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", ssl, files[i]);
		struct stat sb;
		if (stat(p, &sb) == 0) {
			st->dev[i] = sb.st_dev;
			st->ino[i] = sb.st_ino;
			st->size[i] = sb.st_size;
			st->mtime[i] = sb.st_mtim;
		}
		free(p);
	}
}

static void start_certificate(const char *stapdir)
{
	char msg[512], err[512];
	char *ssl = cfg.ssl_dir ? xstrdup(cfg.ssl_dir) : xasprintf("%s/ssl/server", stapdir);
	enum cert_db_state st = cert_db_check(ssl, msg, sizeof msg);
	if (*msg)
		server_log("%s", msg);
	if (st != CERT_DB_VALID) {
		server_log("Generating a new certificate database directory in %s", ssl);
		mkdirs(ssl, 0700);
		if (cert_db_generate(ssl, NULL, 0, err, sizeof err) != 0) {
			server_log("Unable to generate a certificate in %s: %s", ssl, err);
			exit(1);
		}
	}
	if (nss_start(ssl, false, err, sizeof err) != 0 ||
	    server_identity_load(&identity, err, sizeof err) != 0) {
		server_log("Unable to use the certificate database %s: %s", ssl, err);
		exit(1);
	}
	server_id = &identity;
	server_log("Certificate %s in %s is valid", identity.certinfo, ssl);
	db_stamp_take(ssl, &cert_stamp);
	cert_stapdir = stapdir;
	/* the server user's own clients trust it, as stap-serverd arranges */
	char *client = xasprintf("%s/ssl/client", stapdir);
	mkdirs(client, 0700);
	if (trust_add_cert(client, identity.der, identity.derlen, err, sizeof err) != 0)
		server_log("Unable to trust the certificate in %s: %s", client, err);
	free(client);
	free(ssl);
}

/* A new certificate database, made while the old one is in use (NSS
 * does not let a database it runs on be replaced): in a directory inside
 * ssl, so that its files can be renamed over the old ones once NSS is
 * stopped, and so that a failure leaves the old one as it was.  The
 * directory (caller frees), or NULL (logged). */
static char *make_fresh_db(const char *ssl)
{
	char err[512];
	mkdirs(ssl, 0700);
	char *fresh = xasprintf("%s/renew.XXXXXX", ssl);
	if (!mkdtemp(fresh)) {
		server_log("Unable to make a directory in %s: %s; the old certificate stays", ssl,
			   strerror(errno));
		free(fresh);
		return NULL;
	}
	if (cert_db_generate(fresh, NULL, 0, err, sizeof err) != 0) {
		server_log("Unable to generate a certificate in %s: %s; the old one stays", ssl, err);
		remove_tree(fresh);
		free(fresh);
		return NULL;
	}
	return fresh;
}

/* NSS stopped: the files of fresh replace the old database's. */
static void install_fresh_db(const char *fresh, const char *ssl)
{
	DIR *d = opendir(fresh);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *from = xasprintf("%s/%s", fresh, e->d_name);
		char *to = xasprintf("%s/%s", ssl, e->d_name);
		if (rename(from, to) != 0)
			server_log("Unable to move %s to %s: %s", from, to, strerror(errno));
		free(from);
		free(to);
	}
	if (d)
		closedir(d);
	/* it marks SystemTap's old password-protected databases (cert_db_check) */
	char *pw = xasprintf("%s/pw", ssl);
	unlink(pw);
	free(pw);
	remove_tree(fresh);
}

static bool stop_requested(void)
{
	return stop_signal != 0;
}

/* Until nothing uses NSS: no connection in progress and no build queued
 * or running (builds are signed).  False after a stop signal, or when
 * still busy after a build's time limit and a minute. */
static bool wait_for_nss_idle(void)
{
	int busy = 0, waiting = 0, limit = (cfg.build_timeout_s + 60) * 20;
	for (int waited = 0; !stop_signal; waited++) {
		queue_stats(&busy, &waiting);
		if (atomic_load(&active_conns) == 0 && busy == 0 && waiting == 0)
			return true;
		if (waited == limit) {
			server_log("Still busy after %d s: certificate not loaded; SIGHUP again later",
				   limit / 20);
			return false;
		}
		if (waited % 200 == 0)
			server_log("Waiting for %d connection%s and %d build%s in progress first",
				   atomic_load(&active_conns), atomic_load(&active_conns) == 1 ? "" : "s",
				   busy + waiting, busy + waiting == 1 ? "" : "s");
		struct timespec nap = { 0, 50 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	return false;
}

/* SIGHUP: a certificate database replaced on disk, or a certificate no
 * longer valid (a new one is made first, beside it), is loaded once
 * nothing uses NSS (wait_for_nss_idle), since NSS is restarted for it.
 * Avahi is stopped meanwhile and announces the new certinfo; the HTTP
 * API serves the new certificate to its new connections. */
static void reload_certificate(void)
{
	char *ssl = cfg.ssl_dir ? xstrdup(cfg.ssl_dir) : xasprintf("%s/ssl/server", cert_stapdir);
	char msg[512];
	struct db_stamp now;
	enum cert_db_state st = cert_db_check(ssl, msg, sizeof msg);
	db_stamp_take(ssl, &now);
	if (st == CERT_DB_VALID && memcmp(&now, &cert_stamp, sizeof now) == 0) {
		server_log("Certificate %s in %s unchanged and valid", identity.certinfo, ssl);
		free(ssl);
		return;
	}
	if (*msg)
		server_log("%s", msg);
	char *fresh = NULL;
	if (st != CERT_DB_VALID) {
		server_log("Certificate in %s not valid: making a new one", ssl);
		fresh = make_fresh_db(ssl);
		if (!fresh) {
			free(ssl);
			return;
		}
	} else {
		server_log("Certificate database %s changed: loading it", ssl);
	}
	if (wait_for_nss_idle() && http_hold_nss(stop_requested)) {
		avahi_stop();
		server_identity_free(&identity);
		nss_stop();
		if (fresh)
			install_fresh_db(fresh, ssl);
		start_certificate(cert_stapdir);
		avahi_start();
		http_reload_certificate();
		http_release_nss();
	} else if (fresh) {
		remove_tree(fresh);
	}
	free(fresh);
	free(ssl);
}

static void log_kernels(void)
{
	size_t nk;
	struct kstore_kernel *k = kstore_list(&nk);
	for (size_t i = 0; i < nk; i++)
		server_log("Kernel %s (build-id %s)", k[i].release,
			   k[i].build_id ? k[i].build_id : "unknown");
	if (nk == 0)
		server_log("No kernel to build for yet: add one with stap-server add KVER");
	kstore_free(k, nk);
}

/* SIGHUP: reopen the log (rotation), read --config again, list the
 * kernels (the store is read at each request anyway), check the
 * certificate.  The listener and the requests in progress go on. */
static void reload(void)
{
	if (log_reopen() != 0) {
		int e = errno;
		server_log("Unable to reopen the log %s: %s", cfg.log_path, strerror(e));
	}
	server_log("Received SIGHUP: reloading");
	if (config_path)
		config_reload(config_path);
	log_kernels();
	reload_certificate();
}

static PRFileDesc *start_listener(void)
{
	PRNetAddr addr;
	memset(&addr, 0, sizeof addr);
	PRUint16 family = PR_AF_INET6;
	if (cfg.listen) {
		if (PR_StringToNetAddr(cfg.listen, &addr) != PR_SUCCESS) {
			server_log("--listen %s: not a numeric IPv4 or IPv6 address", cfg.listen);
			exit(1);
		}
		family = addr.raw.family;
		if (family == PR_AF_INET6)
			addr.ipv6.port = PR_htons((PRUint16)cfg.port);
		else
			addr.inet.port = PR_htons((PRUint16)cfg.port);
	} else {
		PR_SetNetAddr(PR_IpAddrAny, PR_AF_INET6, (PRUint16)cfg.port, &addr);
	}
	PRFileDesc *l = PR_OpenTCPSocket(family);
	if (!l) {
		server_log("Unable to open a socket: error %d", PR_GetError());
		exit(1);
	}
	PRSocketOptionData opt = { .option = PR_SockOpt_Reuseaddr, .value.reuse_addr = PR_TRUE };
	PR_SetSocketOption(l, &opt);
	if (PR_Bind(l, &addr) != PR_SUCCESS || PR_Listen(l, 128) != PR_SUCCESS) {
		server_log("Unable to listen on %s port %d: error %d", cfg.listen ? cfg.listen : "[::]",
			   cfg.port, PR_GetError());
		exit(1);
	}
	PRNetAddr bound;
	char ip[64] = "?";
	if (PR_GetSockName(l, &bound) == PR_SUCCESS)
		PR_NetAddrToString(&bound, ip, sizeof ip);
	server_port = PR_ntohs(PR_NetAddrInetPort(&bound));
	server_log("Using network address [%s]:%u", ip, (unsigned)server_port);
	return l;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		stop_signal = stop_signal ? -1 : sig;
}

/* A second stop signal came: stop at once. */
static bool second_signal(void)
{
	return stop_signal == -1;
}

/* Connections at once from one client address: half of --max-conns, so
 * that one host (or one NAT) cannot take every connection, and with them
 * the build queue, from the others. */
#define CONNS_PER_CLIENT (cfg.max_conns / 2)

struct client_count {
	unsigned char addr[16];     /* IPv4 as ::ffff:a.b.c.d */
	int n;                      /* 0: a free entry */
};
static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static struct client_count *clients;    /* cfg.max_conns entries */
static unsigned long refused_per_client;

static void client_addr(const PRNetAddr *a, unsigned char out[16])
{
	memset(out, 0, 16);
	if (a->raw.family == PR_AF_INET6) {
		memcpy(out, &a->ipv6.ip, 16);
	} else {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a->inet.ip, 4);
	}
}

/* Counts a new connection from addr; false (nothing counted) when that
 * address has CONNS_PER_CLIENT already. */
static bool client_enter(const unsigned char addr[16])
{
	pthread_mutex_lock(&clients_lock);
	if (!clients)
		clients = xcalloc((size_t)cfg.max_conns, sizeof *clients);
	struct client_count *free_entry = NULL, *e = NULL;
	for (int i = 0; i < cfg.max_conns && !e; i++) {
		if (clients[i].n && memcmp(clients[i].addr, addr, 16) == 0)
			e = &clients[i];
		else if (!clients[i].n && !free_entry)
			free_entry = &clients[i];
	}
	bool ok = e ? e->n < CONNS_PER_CLIENT : free_entry != NULL;
	if (ok && !e) {
		e = free_entry;
		memcpy(e->addr, addr, 16);
	}
	if (ok)
		e->n++;
	else
		refused_per_client++;
	pthread_mutex_unlock(&clients_lock);
	return ok;
}

static void client_leave(const unsigned char addr[16])
{
	pthread_mutex_lock(&clients_lock);
	for (int i = 0; i < cfg.max_conns; i++)
		if (clients[i].n && memcmp(clients[i].addr, addr, 16) == 0) {
			clients[i].n--;
			break;
		}
	pthread_mutex_unlock(&clients_lock);
}

struct conn_arg {
	PRFileDesc *fd;
	unsigned char addr[16];
};

static void *conn_thread(void *arg)
{
	struct conn_arg *a = arg;
	conn_serve(a->fd);
	client_leave(a->addr);
	free(a);
	atomic_fetch_sub(&active_conns, 1);
	return NULL;
}

static void accept_loop(PRFileDesc *listener)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!stop_signal) {
		if (reload_signal) {
			reload_signal = 0;
			reload();
			continue;
		}
		PRNetAddr from;
		PRFileDesc *c = PR_Accept(listener, &from, PR_MillisecondsToInterval(250));
		if (!c)
			continue;	/* timeout (to look at stop_signal) or a failed accept */
		if (atomic_load(&active_conns) >= cfg.max_conns) {
			server_log("Too many connections (%d): one refused", cfg.max_conns);
			PR_Close(c);
			continue;
		}
		struct conn_arg *a = xmalloc(sizeof *a);
		a->fd = c;
		client_addr(&from, a->addr);
		if (!client_enter(a->addr)) {
			/* logged the first time and every 100th, not once per flood packet */
			if (refused_per_client % 100 == 1) {
				char ip[64] = "?";
				PR_NetAddrToString(&from, ip, sizeof ip);
				server_log("Too many connections from %s (%d at once): refused "
					   "(%lu so far)", ip, CONNS_PER_CLIENT, refused_per_client);
			}
			metrics_rejected(REFUSE_CLIENT_LIMIT);
			free(a);
			PR_Close(c);
			continue;
		}
		atomic_fetch_add(&active_conns, 1);
		pthread_t t;
		if (pthread_create(&t, &attr, conn_thread, a) != 0) {
			server_log("Unable to start a thread: %s", strerror(errno));
			client_leave(a->addr);
			free(a);
			atomic_fetch_sub(&active_conns, 1);
			PR_Close(c);
		}
	}
	pthread_attr_destroy(&attr);
}

/* --config FILE: its options first, then the command line's (which win). */
static void parse_with_config(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		/* --config in any spelling getopt takes: "--co" to "--config"
		 * (no other option starts with "co"), "=FILE" or FILE next */
		const char *w = argv[i];
		size_t n = strlen(w) > 2 ? strcspn(w + 2, "=") : 0;
		if (strcmp(w, "--") == 0)
			break;
		if (strncmp(w, "--", 2) != 0 || n < 2 || n > 6 || strncmp(w + 2, "config", n) != 0)
			continue;
		if (w[2 + n] == '=')
			config_path = w + 3 + n;
		else if (i + 1 < argc)
			config_path = argv[++i];
	}
	if (!config_path) {
		parse_args(argc, argv, 1);
		return;
	}
	struct ptrvec all = { 0 };	/* kept: cfg points into it */
	char err[512];
	pv_push(&all, argv[0]);
	if (config_read_args(config_path, &all, err, sizeof err) != 0)
		die("%s", err);
	int first_own = (int)all.n;
	for (int i = 1; i < argc; i++)
		pv_push(&all, argv[i]);
	pv_push(&all, NULL);
	parse_args((int)all.n - 1, (char **)all.v, first_own);
}

int main(int argc, char **argv)
{
	progname = "stap-serverd";
	parse_with_config(argc, argv);
	if (geteuid() == 0 && !getenv("STAP_PR11197_OVERRIDE")) {
		fprintf(stderr, "For security reasons, invocation of stap-serverd as root is not "
			"supported.\n");
		return 1;
	}
	if (log_open(cfg.log_path) != 0) {
		fprintf(stderr, "stap-serverd: cannot open log %s: %s\n", cfg.log_path,
			strerror(errno));
		return 1;
	}
	server_log("===== compile server pid %d starting =====", (int)getpid());
	const char *rt = getenv("SYSTEMTAP_RUNTIME"), *ts = getenv("SYSTEMTAP_TAPSET");
	cfg.runtime_dir = cfg.runtime ? cfg.runtime : rt && *rt ? rt : STAP_RUNTIME_DIR;
	cfg.tapset_dir = ts && *ts ? ts : STAP_TAPSET_DIR;
	const char *tmp = getenv("TMPDIR");
	cfg.tmp_root = tmp && *tmp ? tmp : "/tmp";

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char *stapdir = systemtap_dir();
	mkdirs(stapdir, 0700);
	start_certificate(stapdir);
	mok_init(stapdir);
	char *cache = cfg.cache_dir ? xstrdup(cfg.cache_dir) : xasprintf("%s/server-cache", stapdir);
	if (cfg.cache_max && cache_init(cache, cfg.cache_max) != 0)
		server_log("Module cache %s unusable (%s): building every request", cache,
			   strerror(errno));
	else if (cfg.cache_max)
		server_log("Module cache %s, at most %llu bytes", cache,
			   (unsigned long long)cfg.cache_max);
	/* where stap keeps it for the same user; not in the module cache,
	 * whose size --cache-size bounds: one small object per kernel and
	 * set of -D flags, at most RTCACHE_MAX_ENTRIES */
	runtime_cache_dir = xasprintf("%s/cache/runtime", stapdir);
	make_toolchain_hash();
	queue_init(cfg.max_builds);
	server_log("Using a maximum of %d build%s at once", cfg.max_builds ? cfg.max_builds : 1,
		   cfg.max_builds == 1 ? "" : "s");
	log_kernels();

	PRFileDesc *listener = start_listener();
	http_start();
	avahi_start();
	accept_loop(listener);
	bool http_done = http_stop(second_signal);
	avahi_stop();
	PR_Close(listener);
	server_log("Received signal %d, exiting", stop_signal > 0 ? (int)stop_signal : 0);
	/* finish the requests in progress; a second signal stops at once */
	for (int waited = 0; atomic_load(&active_conns) > 0 && stop_signal != -1; waited++) {
		if (waited % 40 == 0)
			server_log("Waiting for %d request%s in progress", atomic_load(&active_conns),
				   atomic_load(&active_conns) == 1 ? "" : "s");
		struct timespec nap = { 0, 50 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	if (atomic_load(&active_conns) > 0 || !http_done) {
		server_log("Stopping with %d request%s unfinished", atomic_load(&active_conns) +
			   http_builds_running(),
			   atomic_load(&active_conns) + http_builds_running() == 1 ? "" : "s");
		build_kill_all();
		/* the killed builds end their requests: give them a moment to
		 * answer and remove their directories */
		for (int i = 0; i < 100 && (atomic_load(&active_conns) > 0 ||
					    http_builds_running() > 0); i++) {
			build_kill_all();	/* and those that got a slot meanwhile */
			struct timespec nap = { 0, 50 * 1000 * 1000 };
			nanosleep(&nap, NULL);
		}
		_exit(1);
	}
	server_identity_free(&identity);
	nss_stop();
	free(cache);
	free(stapdir);
	server_log("Server stopped");
	return 0;
}
