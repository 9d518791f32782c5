/* The configuration file (--config FILE, installed as
 * /etc/stapcs/stap-server.conf): KEY=VALUE lines with SystemTap's
 * stap-server keys where they apply, and a few of ours.  At start-up the
 * file becomes stap-serverd options read before the command line's, so
 * the command line wins.  On SIGHUP the file is read again: the keys
 * marked LIVE below take effect for the next requests (unless the command
 * line set them); a change to any other key is logged as needing a
 * restart.  docs/stap-serverd.8 lists the keys. */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

enum key_kind {
	K_VALUE,        /* one value: OPT=VALUE (long) or OPT VALUE (short) */
	K_LIST,         /* whitespace-separated values, one option each */
	K_FLAG,         /* yes/no: OPT alone when yes */
	K_NOFLAG,       /* yes/no: OPT alone when no */
	K_IGNORED,      /* SystemTap's, meaningless here (the unit sets the user) */
};

enum live_kind { NOT_LIVE, LIVE_SIZE, LIVE_SIZE64, LIVE_SECONDS, LIVE_PRIVILEGE };

struct config_key {
	const char *key;            /* as in the file */
	const char *option;         /* the stap-serverd option it stands for */
	enum key_kind kind;
	enum live_kind live;        /* how SIGHUP applies it, if it can */
	void *field;                /* the cfg field SIGHUP writes */
	uint64_t lo, hi;            /* bounds of a live number */
};

static const struct config_key keys[] = {
	/* SystemTap's stap-server keys */
	{ "PORT", "--port", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "ARCH", "-a", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "RELEASE", "-r", K_LIST, NOT_LIVE, NULL, 0, 0 },
	{ "BUILD", "-B", K_LIST, NOT_LIVE, NULL, 0, 0 },
	{ "INCLUDE", "-I", K_LIST, NOT_LIVE, NULL, 0, 0 },
	{ "DEFINE", "-D", K_LIST, NOT_LIVE, NULL, 0, 0 },
	{ "RUNTIME", "-R", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "LOG", "--log", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "SSL", "--ssl", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "MAXTHREADS", "--max-threads", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "MAXREQSIZE", "--max-request-size", K_VALUE, LIVE_SIZE, &cfg.max_uncompressed,
	  1, (1ull << 31) - 1 },
	{ "MAXCOMPRESSEDREQ", "--max-compressed-request", K_VALUE, LIVE_SIZE,
	  &cfg.max_compressed, 1, (1ull << 31) - 1 },
	{ "USER", NULL, K_IGNORED, NOT_LIVE, NULL, 0, 0 },
	{ "NICKNAME", NULL, K_IGNORED, NOT_LIVE, NULL, 0, 0 },
	/* ours */
	{ "LISTEN", "--listen", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "ALL_KERNELS", "-i", K_FLAG, NOT_LIVE, NULL, 0, 0 },
	{ "KEEP", "-k", K_FLAG, NOT_LIVE, NULL, 0, 0 },
	{ "AVAHI", "--no-avahi", K_NOFLAG, NOT_LIVE, NULL, 0, 0 },
	{ "HTTP_PORT", "--http-port", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "HTTP_LISTEN", "--http-listen", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "HTTP_PLAIN", "--http-plain", K_FLAG, NOT_LIVE, NULL, 0, 0 },
	{ "CACHE", "--cache", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "CACHE_SIZE", "--cache-size", K_VALUE, NOT_LIVE, NULL, 0, 0 },
	{ "PRIVILEGE", "--privilege", K_VALUE, LIVE_PRIVILEGE, &cfg.max_privilege, 0, 0 },
	{ "BUILD_TIMEOUT", "--build-timeout", K_VALUE, LIVE_SECONDS, &cfg.build_timeout_s,
	  1, 86400 },
	{ "BUILD_CPU", "--build-cpu", K_VALUE, LIVE_SECONDS, &cfg.build_cpu_s, 1, 86400 },
	{ "BUILD_MEMORY", "--build-memory", K_VALUE, LIVE_SIZE64, &cfg.build_mem,
	  64u << 20, UINT64_MAX },
	{ "IDLE_TIMEOUT", "--idle-timeout", K_VALUE, LIVE_SECONDS, &cfg.idle_timeout_s, 1, 3600 },
	{ "READ_TIMEOUT", "--read-timeout", K_VALUE, LIVE_SECONDS, &cfg.read_timeout_s, 1, 3600 },
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* The file's values as read at start-up, to tell what changed on SIGHUP. */
static char *start_values[NKEYS];

static const struct config_key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].key, name) == 0)
			return &keys[i];
	return NULL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Reads FILE into values[i] (heap, NULL when absent or empty), one per key.
 * Returns 0, or -1 with err naming the file and line. */
static int read_values(const char *path, char *values[NKEYS], char *err, size_t errlen)
{
	memset(values, 0, NKEYS * sizeof *values);
	size_t len;
	char *text = read_file_bounded(path, 1u << 20, &len);
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int lineno = 0, rc = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *s = trim(line);
		if (*s == '#' || *s == '\0')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: KEY=VALUE expected", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *name = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
			val[vl - 1] = '\0';
			val++;
		}
		const struct config_key *k = find_key(name);
		if (!k) {
			snprintf(err, errlen, "%s:%d: unknown key %s", path, lineno, name);
			rc = -1;
			break;
		}
		size_t i = (size_t)(k - keys);
		free(values[i]);
		values[i] = *val ? xstrdup(val) : NULL;
	}
	free(text);
	if (rc != 0)
		for (size_t i = 0; i < NKEYS; i++) {
			free(values[i]);
			values[i] = NULL;
		}
	return rc;
}

static bool yes(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1");
}

static void push_option(struct ptrvec *args, const char *opt, const char *val)
{
	if (opt[1] == '-') {
		pv_push(args, xasprintf("%s=%s", opt, val));
	} else {
		pv_push(args, xstrdup(opt));
		pv_push(args, xstrdup(val));
	}
}

int config_read_args(const char *path, struct ptrvec *args, char *err, size_t errlen)
{
	if (read_values(path, start_values, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < NKEYS; i++) {
		const char *v = start_values[i];
		if (!v)
			continue;
		switch (keys[i].kind) {
		case K_VALUE:
			push_option(args, keys[i].option, v);
			break;
		case K_LIST: {
			char *copy = xstrdup(v), *save = NULL;
			for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
				push_option(args, keys[i].option, w);
			free(copy);
			break;
		}
		case K_FLAG:
		case K_NOFLAG:
			if (yes(v) == (keys[i].kind == K_FLAG))
				pv_push(args, xstrdup(keys[i].option));
			break;
		case K_IGNORED:
			break;
		}
	}
	return 0;
}

/* The keys whose option the command line set, as getopt_long read it, so
 * that every spelling it takes counts (--priv=stapusr, --privilege stapusr,
 * ...): SIGHUP leaves those alone. */
static bool set_on_command_line[NKEYS];

void config_command_line_option(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].option && strncmp(keys[i].option, "--", 2) == 0 &&
		    strcmp(keys[i].option + 2, name) == 0)
			set_on_command_line[i] = true;
}

/* Applies one live key; false when the value is not acceptable. */
static bool apply_live(const struct config_key *k, const char *v)
{
	if (k->live == LIVE_PRIVILEGE) {
		static const char *const levels[] = { "stapusr", "stapsys", "stapdev" };
		for (size_t i = 0; i < 3; i++)
			if (strcmp(v, levels[i]) == 0) {
				*(const char **)k->field = levels[i];
				return true;
			}
		return false;
	}
	uint64_t n;
	if (!parse_size(v, &n) || n < k->lo || n > k->hi ||
	    (k->live == LIVE_SECONDS && v[strspn(v, "0123456789")] != '\0'))
		return false;
	switch (k->live) {
	case LIVE_SIZE: *(size_t *)k->field = (size_t)n; break;
	case LIVE_SIZE64: *(uint64_t *)k->field = n; break;
	case LIVE_SECONDS: *(int *)k->field = (int)n; break;
	default: return false;
	}
	return true;
}

void config_reload(const char *path)
{
	char *values[NKEYS], err[512];
	if (read_values(path, values, err, sizeof err) != 0) {
		server_log("Configuration not reloaded: %s", err);
		return;
	}
	int applied = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &keys[i];
		const char *now = values[i], *before = start_values[i];
		bool same = (!now && !before) || (now && before && strcmp(now, before) == 0);
		if (k->live == NOT_LIVE) {
			if (!same && k->kind != K_IGNORED)
				server_log("%s: %s changed: it takes effect at the next restart", path,
					   k->key);
			continue;
		}
		if (!now || set_on_command_line[i])
			continue;	/* a removed key keeps its value until a restart */
		if (!apply_live(k, now)) {
			server_log("%s: %s=%s: not a valid value, ignored", path, k->key, now);
			continue;
		}
		if (!same)
			server_log("%s: %s=%s from now on", path, k->key, now);
		applied++;
	}
	server_log("Configuration %s read again (%d setting%s in force)", path, applied,
		   applied == 1 ? "" : "s");
	for (size_t i = 0; i < NKEYS; i++) {
		free(start_values[i]);
		start_values[i] = values[i];
	}
}
