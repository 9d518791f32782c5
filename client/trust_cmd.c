/* stap --trust-servers=SPEC --use-server=SERVERS (docs/protocol.md,
 * "--trust-servers"): add or revoke trust in servers' certificates, as SSL
 * peers for this user or for all users, or as module signers for staprun.
 * Adding connects, takes whatever certificate the server shows, stores
 * it, then sends the empty request (length 0) that tells the server it
 * was only a probe.  Revoking by address connects to learn the serial
 * (SystemTap silently does nothing there); revoking by serial needs no
 * connection. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote_internal.h"
#include "util.h"

struct trust_opts {
	bool ssl;               /* trust as an SSL peer */
	bool signer;            /* trust as a module signer (root) */
	bool all_users;         /* the SSL store is the global one (root) */
	bool revoke;
	bool no_prompt;
	const char *stores[2];  /* where to add or revoke: SSL store, signer store */
};

/* 0, or -1 after printing why. */
static int parse_trust_spec(const char *spec, struct trust_opts *o)
{
	char *copy = xstrdup(spec ? spec : "");
	for (char *save = NULL, *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		if (strcmp(it, "ssl") == 0)
			o->ssl = true;
		else if (strcmp(it, "signer") == 0)
			o->signer = true;
		else if (strcmp(it, "all-users") == 0)
			o->all_users = true;
		else if (strcmp(it, "revoke") == 0)
			o->revoke = true;
		else if (strcmp(it, "no-prompt") == 0)
			o->no_prompt = true;
		else
			remote_warning("unsupported --trust-servers item '%s' ignored "
				       "(known: ssl, signer, all-users, revoke, no-prompt)", it);
	}
	free(copy);
	if (!o->ssl && !o->signer)
		o->ssl = true;
	if (o->signer && geteuid() != 0) {
		remote_error("Only root can specify 'signer' on --trust-servers");
		return -1;
	}
	if (o->all_users && geteuid() != 0) {
		remote_error("Only root can specify 'all-users' on --trust-servers");
		return -1;
	}
	return 0;
}

/* "as an SSL peer for the current user and as a module signer for all users" */
static char *roles_text(const struct trust_opts *o)
{
	struct strbuf sb;
	sb_init(&sb);
	if (o->ssl)
		sb_printf(&sb, "as an SSL peer for %s", o->all_users ? "all users" : "the current user");
	if (o->signer)
		sb_printf(&sb, "%sas a module signer for all users", o->ssl ? " and " : "");
	return sb_detach(&sb);
}

static void print_server(const struct server_spec *s)
{
	if (s->kind == SPEC_SERIAL) {
		fprintf(stderr, "  certinfo=\"%s\"\n", s->serial);
		return;
	}
	for (size_t i = 0; i < s->naddrs; i++) {
		char *t = server_addr_text(&s->addrs[i]);
		fprintf(stderr, "  %s\n", t);
		free(t);
	}
}

/* Announces what will happen; asks unless no-prompt.  true to go on. */
static bool confirm(const struct trust_opts *o, const struct server_spec *servers, size_t n)
{
	char *roles = roles_text(o);
	const char *verb = o->no_prompt ? (o->revoke ? "Revoking trust" : "Adding trust")
					: (o->revoke ? "Revoke trust" : "Add trust");
	fprintf(stderr, "%s in the following servers %s%s\n", verb, roles, o->no_prompt ? "." : "?");
	free(roles);
	for (size_t i = 0; i < n; i++)
		print_server(&servers[i]);
	if (o->no_prompt)
		return true;
	fprintf(stderr, "[y/N] ");
	fflush(stderr);
	char answer[64];
	bool yes = fgets(answer, sizeof answer, stdin) && (answer[0] == 'y' || answer[0] == 'Y');
	if (!yes)
		fprintf(stderr, "Server trust unchanged\n");
	return yes;
}

/* Connects to the first address of s that completes a handshake,
 * keeping its certificate.  NULL after printing why. */
static PRFileDesc *connect_any(const struct server_spec *s, struct record_check *peer, int verbose)
{
	char err[512] = "no address";
	for (size_t i = 0; i < s->naddrs; i++) {
		PRFileDesc *fd = remote_connect(&s->addrs[i], record_peer_check, peer, verbose,
						err, sizeof err);
		if (fd && peer->der)
			return fd;
		if (fd)
			PR_Close(fd);
		if (verbose >= 1 && i + 1 < s->naddrs) {
			char *t = server_addr_text(&s->addrs[i]);
			fprintf(stderr, "  Unable to connect to %s: %s\n", t, err);
			free(t);
		}
	}
	remote_error("Unable to connect to %s: %s", s->text, err);
	return NULL;
}

/* The empty request: "nothing to compile", so the server closes quietly. */
static void send_probe(PRFileDesc *fd, int verbose)
{
	static const unsigned char zero[4];
	char err[256];
	if (tls_write_full(fd, zero, sizeof zero, CONNECT_TIMEOUT_MS, err, sizeof err) < 0 &&
	    verbose >= 1)
		fprintf(stderr, "  The server did not take the closing probe: %s\n", err);
	PR_Close(fd);
}

static int add_trust(const struct trust_opts *o, const struct server_spec *s, int verbose)
{
	struct record_check peer = { 0 };
	PRFileDesc *fd = connect_any(s, &peer, verbose);
	if (!fd)
		return -1;
	char *serial = cert_serial_string(peer.der, peer.derlen);
	int rc = 0;
	for (size_t i = 0; i < 2; i++) {
		const char *store = o->stores[i];
		char err[512];
		if (!store)
			continue;
		if (trust_has_cert(store, peer.der, peer.derlen) == 1) {
			if (verbose >= 1)
				fprintf(stderr, "  %s (certinfo \"%s\") is already trusted in %s\n",
					s->text, serial ? serial : "?", store);
			continue;
		}
		if (make_parent_dirs(store) < 0) {
			remote_error("cannot create the directories above %s: %s", store, strerror(errno));
			rc = -1;
			continue;
		}
		if (trust_add_cert(store, peer.der, peer.derlen, err, sizeof err) < 0) {
			remote_error("cannot add the certificate of %s to %s: %s", s->text, store, err);
			rc = -1;
		} else if (verbose >= 1) {
			fprintf(stderr, "  Added certinfo \"%s\" of %s to %s\n",
				serial ? serial : "?", s->text, store);
		}
	}
	send_probe(fd, verbose);
	free(serial);
	free(peer.der);
	return rc;
}

static int revoke_serial(const struct trust_opts *o, const char *who, const char *serial,
			 int verbose)
{
	int total = 0, rc = 0;
	for (size_t i = 0; i < 2; i++) {
		const char *store = o->stores[i];
		struct stat st;
		char err[512];
		int removed = 0;
		if (!store || stat(store, &st) < 0)
			continue;   /* no store, nothing trusted there */
		if (trust_remove_serial(store, serial, &removed, err, sizeof err) < 0) {
			remote_error("cannot revoke trust in %s from %s: %s", who, store, err);
			rc = -1;
			continue;
		}
		if (removed && verbose >= 1)
			fprintf(stderr, "  Removed certinfo \"%s\" of %s from %s\n", serial, who, store);
		total += removed;
	}
	if (rc == 0 && total == 0)
		remote_warning("no certificate with serial %s (%s) was trusted in %s%s%s", serial, who,
			       o->stores[0] ? o->stores[0] : "", o->stores[0] && o->stores[1] ? " or " : "",
			       o->stores[1] ? o->stores[1] : "");
	return rc;
}

static int revoke_trust(const struct trust_opts *o, const struct server_spec *s, int verbose)
{
	if (s->kind == SPEC_SERIAL)
		return revoke_serial(o, s->text, s->serial, verbose);
	struct record_check peer = { 0 };
	PRFileDesc *fd = connect_any(s, &peer, verbose);
	if (!fd)
		return -1;
	send_probe(fd, verbose);
	char *serial = cert_serial_string(peer.der, peer.derlen);
	int rc;
	if (!serial) {
		remote_error("%s presented a certificate without a readable serial", s->text);
		rc = -1;
	} else {
		rc = revoke_serial(o, s->text, serial, verbose);
	}
	free(serial);
	free(peer.der);
	return rc;
}

int remote_trust(const char *trust_spec, char *const *specs, size_t nspecs, int verbose)
{
	struct trust_opts o = { 0 };
	if (parse_trust_spec(trust_spec, &o) < 0)
		return 1;
	char *priv = o.ssl && !o.all_users ? private_ssl_store() : NULL;
	if (o.ssl)
		o.stores[0] = o.all_users ? GLOBAL_SSL_STORE : priv;
	if (o.signer)
		o.stores[1] = SIGNER_STORE;

	int status = 0;
	size_t n = 0;
	char **items = server_specs_split(specs, nspecs, &n);
	struct server_spec *servers = xcalloc(n ? n : 1, sizeof *servers);
	size_t nservers = 0;
	for (size_t i = 0; i < n; i++) {
		char err[512];
		struct server_spec *s = &servers[nservers];
		if (server_spec_parse(items[i], s, err, sizeof err) < 0) {
			remote_error("%s", err);
			status = 1;
			continue;
		}
		bool need_avahi = s->kind == SPEC_ADDRESS && (!s->port || s->name);
		if (s->kind == SPEC_SERIAL && !o.revoke)
			need_avahi = true;	/* adding connects; revoking by serial does not */
		if (need_avahi) {
			/* the addresses Avahi knows for it, unfiltered */
			const char *why;
			size_t nfound;
			char *one[1] = { items[i] };
			struct server_spec *found = servers_to_try(one, 1, NULL, &nfound, &why);
			server_spec_free(s);
			if (nfound == 0) {
				free(found);
				status = 1;
				continue;
			}
			*s = found[0];
			s->kind = SPEC_ADDRESS;
			for (size_t k = 1; k < nfound; k++)
				server_spec_free(&found[k]);
			free(found);
		}
		nservers++;
	}
	if (nservers == 0) {
		if (n == 0)
			remote_error("No servers identified for trust (give them with --use-server=HOST:PORT)");
		status = 1;
		goto out;
	}
	if (!confirm(&o, servers, nservers))
		goto out;
	if (remote_nss_start() < 0) {
		status = 1;
		goto out;
	}
	for (size_t i = 0; i < nservers; i++) {
		int rc = o.revoke ? revoke_trust(&o, &servers[i], verbose)
				  : add_trust(&o, &servers[i], verbose);
		if (rc < 0)
			status = 1;
	}
out:
	for (size_t i = 0; i < nservers; i++)
		server_spec_free(&servers[i]);
	free(servers);
	strv_free(items, n);
	free(priv);
	return status;
}
