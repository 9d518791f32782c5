/* client/list_servers.c: the lines of `stap --list-servers`, above all
 * for a trusted server that is not online (SystemTap 4.8 shows the first
 * subject alternative name of its certificate as host=, "address=offline
 * port=unknown", the rest unknown, and only for the properties trusted,
 * all, specified (by serial) and signer); and client/server_spec.c's
 * address comparison, with IPv6 scopes as Avahi gives them.
 *
 * A real certificate (RSA 4096, a second or two) is generated and put in
 * a private trust store ($SYSTEMTAP_DIR/ssl/client); D-Bus points at a
 * socket that does not exist, so that nothing is online. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "remote_internal.h"
#include "util.h"

static struct {
	char *top;          /* temporary directory */
	char *certinfo;     /* the trusted certificate's serial */
	char *nodename;     /* its first SAN */
} g;

static int setup(void **state)
{
	char tmpl[] = "/tmp/stap-unit-list-XXXXXX", err[512];
	struct utsname u;
	if (!mkdtemp(tmpl) || uname(&u) < 0)
		return -1;
	g.top = xstrdup(tmpl);
	g.nodename = xstrdup(u.nodename);
	char *server = xasprintf("%s/server", g.top);
	char *certfile = xasprintf("%s/stap.cert", server);
	char *store = xasprintf("%s/sd/ssl/client", g.top);
	char *bus = xasprintf("unix:path=%s/no-such-bus", g.top);
	char *sd = xasprintf("%s/sd", g.top);
	unsigned char *der = NULL;
	size_t len = 0;
	int rc = -1;
	if (cert_db_generate(server, NULL, 0, err, sizeof err) < 0)
		fprintf(stderr, "cert_db_generate: %s\n", err);
	else if (!(der = (unsigned char *)read_file_bounded(certfile, 1 << 20, &len)))
		fprintf(stderr, "cannot read %s\n", certfile);
	else if (trust_add_cert(store, der, len, err, sizeof err) < 0)
		fprintf(stderr, "trust_add_cert: %s\n", err);
	else if ((g.certinfo = cert_serial_string(der, len)))
		rc = 0;
	setenv("SYSTEMTAP_DIR", sd, 1);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", bus, 1);
	free(der);
	free(server);
	free(certfile);
	free(store);
	free(bus);
	free(sd);
	return rc;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", g.top);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", g.top);
	free(cmd);
	free(g.top);
	free(g.certinfo);
	free(g.nodename);
	return 0;
}

/* Runs --list-servers=props (with --use-server specs) and returns what
 * it printed on stderr. */
static char *listing(const char *props, const char *spec)
{
	struct remote_request rq = { .kernel_release = "6.1.0-56-amd64", .arch = "x86_64",
				     .privilege = "stapdev" };
	char *path = xasprintf("%s/stderr", g.top);
	char *spec_copy = spec ? xstrdup(spec) : NULL;
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	dup2(fileno(f), 2);
	int rc = remote_list_servers(props, &spec_copy, spec ? 1 : 0, &rq);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(f);
	assert_int_equal(rc, 0);
	size_t len = 0;
	char *out = read_file_bounded(path, 1 << 20, &len);
	assert_non_null(out);
	free(path);
	free(spec_copy);
	return out;
}

static char *offline_line(void)
{
	return xasprintf(" host=%s address=offline port=unknown sysinfo=\"unknown\" "
			 "version=unknown certinfo=\"%s\"\n", g.nodename, g.certinfo);
}

static void line_format(void **state)
{
	struct online_server off = { .certinfo = (char *)"00:cc:26:2e:ed", .host = (char *)"vm" };
	char *l = list_server_line(&off);
	assert_string_equal(l, " host=vm address=offline port=unknown sysinfo=\"unknown\" "
			    "version=unknown certinfo=\"00:cc:26:2e:ed\"");
	free(l);
	char *moks[] = { (char *)"5d:5e", (char *)"11:22" };
	struct online_server on = {
		.host = (char *)"stapa.local", .addr = (char *)"fe80::1%veth0", .port = 5556,
		.sysinfo = (char *)"6.1.0-56-amd64 x86_64", .version = (char *)"4.8",
		.certinfo = (char *)"00:cc:26:2e:ed", .moks = moks, .nmoks = 2,
	};
	l = list_server_line(&on);
	assert_string_equal(l, " host=stapa.local address=fe80::1%veth0 port=5556 "
			    "sysinfo=\"6.1.0-56-amd64 x86_64\" version=4.8 certinfo=\"00:cc:26:2e:ed\" "
			    "mok_fingerprints=\"5d:5e, 11:22\"");
	free(l);
}

/* the properties that list a server known only from the trust store */
static void offline_trusted(void **state)
{
	char *want = offline_line();
	static const char *const shown[] = { "trusted", "all", "trusted,,nonsense", NULL };
	for (size_t i = 0; shown[i]; i++) {
		char *out = listing(shown[i], NULL);
		char *head = xasprintf("Systemtap Compile Server Status for '%s'\n", shown[i]);
		if (!strstr(out, want) || !strstr(out, head))
			fail_msg("--list-servers=%s: want [%s] in [%s]", shown[i], want, out);
		free(head);
		free(out);
	}
	/* by its serial: --use-server=SERIAL --list-servers (= specified) */
	char *out = listing("", g.certinfo);
	assert_non_null(strstr(out, "Systemtap Compile Server Status for 'specified'\n"));
	assert_non_null(strstr(out, want));
	free(out);
	free(want);
}

/* online, compatible and signer need more than a trusted certificate */
static void offline_not_shown(void **state)
{
	static const char *const hidden[] = { "online", "online,trusted", "trusted,compatible",
					      "signer", "", "nonsense", NULL };
	for (size_t i = 0; hidden[i]; i++) {
		char *out = listing(hidden[i], NULL);
		if (strstr(out, g.certinfo))
			fail_msg("--list-servers=%s lists the offline server: %s", hidden[i], out);
		free(out);
	}
	char *out = listing("", NULL);
	assert_non_null(strstr(out, "Status for 'online,trusted,compatible'\n"));
	free(out);
	out = listing("specified", "00:11:22:33:44");   /* another serial */
	assert_null(strstr(out, g.certinfo));
	free(out);
}

static void address_scopes(void **state)
{
	assert_true(server_addr_same("192.0.2.1", "192.0.2.1"));
	assert_false(server_addr_same("192.0.2.1", "192.0.2.2"));
	assert_true(server_addr_same("fe80::1", "fe80::1%1"));
	assert_true(server_addr_same("fe80::1%1", "fe80:0:0::1%1"));
	assert_false(server_addr_same("fe80::1%1", "fe80::2%1"));
	char *lo = xasprintf("fe80::1%%%u", if_nametoindex("lo"));
	assert_true(server_addr_same("fe80::1%lo", lo));   /* a name or its number */
	free(lo);
	assert_false(server_addr_same("fe80::1%1", "fe80::1%4000"));
	assert_false(server_addr_same("::ffff:192.0.2.1", "192.0.2.2"));
	assert_false(server_addr_same("stapa.local", "stapa.local"));   /* names are not addresses */
	assert_false(server_addr_same(NULL, "::1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(line_format),
		cmocka_unit_test(offline_trusted),
		cmocka_unit_test(offline_not_shown),
		cmocka_unit_test(address_scopes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
