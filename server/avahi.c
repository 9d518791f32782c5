/* Announcing the server on the LAN as SystemTap's stap-serverd does: one
 * `_stap._tcp` service per kernel served, all under the name "Systemtap
 * Compile Server on HOST", each with the TXT records sysinfo, optinfo,
 * version, certinfo and one mok_info per MOK, in that order
 * (docs/protocol.md, "Discovery").
 *
 * The Avahi client lives in its own thread (avahi_threaded_poll); every
 * callback below runs there.  A timer on that thread looks at the kernel
 * store and the MOKs every RECHECK_S seconds and re-publishes when the
 * records would change.  With AVAHI_CLIENT_NO_FAIL a missing daemon is
 * not an error: the client waits for it, and after a daemon restart it is
 * made again, so the server is announced whenever a daemon runs.  A
 * failure to announce is tried again at each look, but logged only when it
 * is new or differs from the last one, and the recovery is logged. */
#define _GNU_SOURCE
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

#include "server.h"

enum {
	RECHECK_S = 2,             /* how often the kernel store and MOKs are looked at */
	MAX_RENAMES = 65535,       /* name collisions before giving up (SystemTap's bound) */
	SERVICE_NAME_MAX = 63,     /* an mDNS label */
};

static const char service_type[] = "_stap._tcp";

bool avahi_enabled = true;

/* Owned by the Avahi thread once avahi_start has returned. */
static AvahiThreadedPoll *poll_thread;
static AvahiClient *client;
static AvahiEntryGroup *group;
static AvahiTimeout *recheck;
static char *service_name;        /* avahi_malloc'd */
static int renames;
static char *published;           /* the records now announced, as one text; NULL: none */
static bool said_waiting;         /* "daemon not running" logged since the last success */
static char *failure;             /* the failure to announce last logged; NULL: none since
				     the last success */

static void client_callback(AvahiClient *c, AvahiClientState state, void *userdata);
static AvahiClient *new_client(void);

/* "-R... -B... -D... -I...": the options every build gets. */
static char *optinfo_text(void)
{
	struct strbuf sb;
	sb_init(&sb);
	if (cfg.runtime)
		sb_printf(&sb, "-R%s", cfg.runtime);
	const struct ptrvec *lists[] = { &cfg.build_opts, &cfg.defines, &cfg.includes };
	const char letters[] = "BDI";
	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			sb_printf(&sb, "%s-%c%s", sb.len ? " " : "", letters[l],
				  (const char *)lists[l]->v[i]);
	return sb_detach(&sb);
}

static int by_release(const void *a, const void *b)
{
	return strcmp(((const struct kstore_kernel *)a)->release,
		      ((const struct kstore_kernel *)b)->release);
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The TXT lists of every service, one per kernel ordered by release,
 * each in SystemTap's order.  Also a text of it all, to see changes. */
static AvahiStringList **make_records(size_t *n, char **summary)
{
	size_t nk;
	struct kstore_kernel *k = kstore_list(&nk);
	qsort(k, nk, sizeof *k, by_release);
	char **moks;
	int nmoks = mok_list(&moks);
	if (nmoks > 1)
		qsort(moks, (size_t)nmoks, sizeof *moks, by_string);
	char *opt = optinfo_text();
	struct strbuf all;
	sb_init(&all);
	AvahiStringList **lists = xcalloc(nk ? nk : 1, sizeof *lists);
	for (size_t i = 0; i < nk; i++) {
		/* avahi_string_list_add prepends, and the wire order is the
		 * order of the adds */
		AvahiStringList *l = NULL;
		l = avahi_string_list_add_printf(l, "sysinfo=%s %s", k[i].release, cfg.arch);
		l = avahi_string_list_add_printf(l, "optinfo=%s", opt);
		l = avahi_string_list_add_printf(l, "version=%s", CS_PROTOCOL_VERSION);
		l = avahi_string_list_add_printf(l, "certinfo=%s", server_id->certinfo);
		for (int m = 0; m < nmoks; m++)
			l = avahi_string_list_add_printf(l, "mok_info=%s", moks[m]);
		lists[i] = l;
		char *t = avahi_string_list_to_string(l);
		sb_printf(&all, "%s\n", t);
		avahi_free(t);
	}
	strv_free(moks, (size_t)nmoks);
	free(opt);
	kstore_free(k, nk);
	*n = nk;
	*summary = sb_detach(&all);
	return lists;
}

static void free_records(AvahiStringList **lists, size_t n)
{
	for (size_t i = 0; i < n; i++)
		avahi_string_list_free(lists[i]);
	free(lists);
}

/* Logs a failure to announce unless it is the one logged last: the timer
 * tries again every RECHECK_S seconds, and a lasting failure must not
 * fill the log. */
static void announce_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void announce_failed(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (failure && strcmp(failure, msg) == 0) {
		free(msg);
		return;
	}
	server_log("%s (tried again every %d s; logged again if it changes)", msg, RECHECK_S);
	free(failure);
	failure = msg;
}

static void rename_service(void)
{
	char *n = avahi_alternative_service_name(service_name);
	server_log("Avahi service name collision, renaming service '%s' to '%s'", service_name, n);
	avahi_free(service_name);
	service_name = n;
}

static void publish(AvahiClient *c);

static void group_callback(AvahiEntryGroup *g, AvahiEntryGroupState state, void *userdata)
{
	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		server_log("Avahi service '%s' successfully established.", service_name);
		if (failure)
			server_log("Avahi: registered again");
		free(failure);
		failure = NULL;
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		if (++renames >= MAX_RENAMES) {
			server_log("Too many service name collisions for Avahi service %s",
				   service_type);
			break;
		}
		rename_service();
		free(published);
		published = NULL;
		publish(avahi_entry_group_get_client(g));
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		announce_failed("Avahi entry group failure: %s",
				avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
		free(published);	/* the next look tries again */
		published = NULL;
		break;
	default:
		break;
	}
}

/* (Re-)announces the current records; nothing when they are what is
 * already announced. */
static void publish(AvahiClient *c)
{
	size_t n;
	char *summary;
	AvahiStringList **lists = make_records(&n, &summary);
	if (published && strcmp(published, summary) == 0) {
		free(summary);
		free_records(lists, n);
		return;
	}
	if (!group && !(group = avahi_entry_group_new(c, group_callback, NULL))) {
		announce_failed("avahi_entry_group_new () failed: %s",
				avahi_strerror(avahi_client_errno(c)));
		goto out;
	}
	avahi_entry_group_reset(group);
	free(published);
	published = NULL;
	if (n == 0) {
		server_log("No kernel to announce through Avahi");
		free(failure);	/* nothing left to fail */
		failure = NULL;
		published = summary;
		summary = NULL;
		goto out;
	}
	if (!failure)	/* quiet while retrying */
		server_log("Adding Avahi service '%s'", service_name);
	/* Each kernel is one more service.  Avahi refuses a second service
	 * of the same name in the group, so, as SystemTap does, the next
	 * kernels take the alternative names ("... #2", "... #3"). */
	char *name = avahi_strdup(service_name);
	int tries = 0;
	for (size_t i = 0; i < n; ) {
		int r = avahi_entry_group_add_service_strlst(group, AVAHI_IF_UNSPEC,
							     AVAHI_PROTO_UNSPEC, 0, name,
							     service_type, NULL, NULL,
							     (uint16_t)server_port, lists[i]);
		if (r == AVAHI_ERR_COLLISION && ++tries < MAX_RENAMES) {
			char *next = avahi_alternative_service_name(name);
			avahi_free(name);
			name = next;
			continue;	/* the same kernel under the next name */
		}
		if (r < 0) {
			announce_failed("Failed to add %s service: %s", service_type, avahi_strerror(r));
			avahi_free(name);
			avahi_entry_group_reset(group);
			goto out;
		}
		i++;
	}
	avahi_free(name);
	int r = avahi_entry_group_commit(group);
	if (r < 0) {
		announce_failed("Failed to commit avahi entry group: %s", avahi_strerror(r));
		goto out;
	}
	published = summary;
	summary = NULL;
out:
	free(summary);
	free_records(lists, n);
}

static void recheck_callback(AvahiTimeout *t, void *userdata)
{
	if (!client)
		client = new_client();
	if (client && avahi_client_get_state(client) == AVAHI_CLIENT_S_RUNNING)
		publish(client);
	struct timeval tv;
	avahi_elapse_time(&tv, RECHECK_S * 1000, 0);
	avahi_threaded_poll_get(poll_thread)->timeout_update(t, &tv);
}

static AvahiClient *new_client(void)
{
	int err = 0;
	AvahiClient *c = avahi_client_new(avahi_threaded_poll_get(poll_thread), AVAHI_CLIENT_NO_FAIL,
					  client_callback, NULL, &err);
	if (!c && !said_waiting)	/* no D-Bus at all: the timer tries again */
		server_log("Failed to create avahi client: %s; serving without announcing",
			   avahi_strerror(err));
	if (!c)
		said_waiting = true;
	return c;
}

static void client_callback(AvahiClient *c, AvahiClientState state, void *userdata)
{
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		said_waiting = false;
		free(published);
		published = NULL;
		publish(c);
		break;
	case AVAHI_CLIENT_S_COLLISION:
	case AVAHI_CLIENT_S_REGISTERING:
		/* the host name changes: announce again once running */
		if (group)
			avahi_entry_group_reset(group);
		free(published);
		published = NULL;
		break;
	case AVAHI_CLIENT_CONNECTING:
		if (!said_waiting)
			server_log("Avahi daemon not running: serving without announcing, "
				   "until it starts");
		said_waiting = true;
		break;
	case AVAHI_CLIENT_FAILURE:
		if (avahi_client_errno(c) == AVAHI_ERR_DISCONNECTED) {
			/* the daemon went away: a new client waits for its return */
			server_log("Avahi daemon disconnected: waiting for it to come back");
			said_waiting = true;
			avahi_client_free(c);
			client = NULL;
			group = NULL;
			free(published);
			published = NULL;
			client = new_client();
		} else {
			server_log("Avahi client failure: %s", avahi_strerror(avahi_client_errno(c)));
		}
		break;
	}
}

void avahi_start(void)
{
	if (!avahi_enabled) {
		server_log("Not announcing the server through Avahi (--no-avahi)");
		return;
	}
	if (cfg.listen && (strncmp(cfg.listen, "127.", 4) == 0 || strcmp(cfg.listen, "::1") == 0 ||
			   strncmp(cfg.listen, "::ffff:127.", 11) == 0)) {
		/* nobody else could reach it: nothing to tell the LAN */
		server_log("Not announcing the server through Avahi: it listens on %s only",
			   cfg.listen);
		return;
	}
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	char *name = xasprintf("Systemtap Compile Server on %s", host);
	if (strlen(name) > SERVICE_NAME_MAX)
		name[SERVICE_NAME_MAX] = '\0';
	service_name = avahi_strdup(name);
	free(name);
	if (!(poll_thread = avahi_threaded_poll_new())) {
		server_log("Failed to create the avahi thread: serving without announcing");
		return;
	}
	/* the client is made under the lock: its callbacks may run at once */
	avahi_threaded_poll_lock(poll_thread);
	client = new_client();
	struct timeval tv;
	avahi_elapse_time(&tv, RECHECK_S * 1000, 0);
	recheck = avahi_threaded_poll_get(poll_thread)->timeout_new(
		avahi_threaded_poll_get(poll_thread), &tv, recheck_callback, NULL);
	avahi_threaded_poll_unlock(poll_thread);
	if (avahi_threaded_poll_start(poll_thread) < 0) {
		server_log("Failed to start the avahi thread: serving without announcing");
		avahi_stop();
	}
}

void avahi_stop(void)
{
	if (!poll_thread)
		return;
	avahi_threaded_poll_stop(poll_thread);
	if (recheck)
		avahi_threaded_poll_get(poll_thread)->timeout_free(recheck);
	recheck = NULL;
	if (group) {
		/* withdrawn at once, before the client goes */
		avahi_entry_group_reset(group);
		avahi_entry_group_free(group);
		group = NULL;
	}
	if (client)
		avahi_client_free(client);
	client = NULL;
	avahi_threaded_poll_free(poll_thread);
	poll_thread = NULL;
	avahi_free(service_name);
	service_name = NULL;
	free(published);
	published = NULL;
	free(failure);
	failure = NULL;
}
