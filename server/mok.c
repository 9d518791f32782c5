/* Machine owner keys (Secure Boot): the server's MOKs live in
 *   $SYSTEMTAP_DIR/ssl/server/moks/<fingerprint>/{signing_key.x509,signing_key.priv}
 * (SystemTap's layout; the fingerprint is the SHA-1 of the DER certificate
 * in lower-case colon hex, as mokutil shows it).  A module is signed with
 * the kernel's own scripts/sign-file (sha512), as SystemTap does; a new
 * MOK is made with openssl.  Both run as programs with fixed arguments,
 * never through a shell. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server.h"

static char *moks_root;
static pthread_mutex_t mok_lock = PTHREAD_MUTEX_INITIALIZER;

void mok_init(const char *stapdir)
{
	moks_root = xasprintf("%s/ssl/server/moks", stapdir);
}

static char *mok_file(const char *fp, const char *name)
{
	return xasprintf("%s/%s/%s", moks_root, fp, name);
}

unsigned char *mok_cert(const char *fp, size_t *len)
{
	char *p = mok_file(fp, "signing_key.x509");
	unsigned char *der = (unsigned char *)read_file_bounded(p, 1 << 16, len);
	free(p);
	return der;
}

/* A MOK directory is usable when both files can be read and the
 * certificate's fingerprint is the directory's name. */
static bool mok_valid(const char *fp)
{
	if (!cs_mok_fingerprint_ok(fp) || strcmp(fp, "missing") == 0)
		return false;
	char *key = mok_file(fp, "signing_key.priv");
	bool ok = access(key, R_OK) == 0;
	free(key);
	size_t len;
	unsigned char *der = ok ? mok_cert(fp, &len) : NULL;
	char *real = der ? cert_sha1_fingerprint(der, len) : NULL;
	ok = real && strcmp(real, fp) == 0;
	free(real);
	free(der);
	return ok;
}

char *mok_find(char *const *fps, size_t n)
{
	if (!moks_root)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (mok_valid(fps[i]))
			return xstrdup(fps[i]);
	return NULL;
}

int mok_list(char ***fps)
{
	*fps = NULL;
	DIR *d = moks_root ? opendir(moks_root) : NULL;
	if (!d)
		return 0;
	struct ptrvec v = { 0 };
	struct dirent *e;
	pthread_mutex_lock(&mok_lock);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && mok_valid(e->d_name))
			pv_push(&v, xstrdup(e->d_name));
	pthread_mutex_unlock(&mok_lock);
	closedir(d);
	*fps = (char **)v.v;
	return (int)v.n;
}

/* Runs argv (no shell), output to the log; true on exit status 0. */
static bool run(char *const argv[], const char *cwd)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return false;
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (cwd && chdir(cwd) != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	char buf[4096];
	size_t got = 0;
	ssize_t r;
	while ((r = read(pipefd[0], buf + got, sizeof buf - 1 - got)) > 0 && got < sizeof buf - 1)
		got += (size_t)r;
	while (r > 0)
		r = read(pipefd[0], buf, sizeof buf);	/* drain the rest */
	close(pipefd[0]);
	buf[got] = '\0';
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok && got)
		server_log("%s: %s", argv[0], buf);
	return ok;
}

int mok_sign(const char *fp, const char *build_dir, const char *module)
{
	char *tool = xasprintf("%s/scripts/sign-file", build_dir);
	char *key = mok_file(fp, "signing_key.priv"), *cert = mok_file(fp, "signing_key.x509");
	char *argv[] = { tool, "sha512", key, cert, (char *)module, NULL };
	bool ok = access(tool, X_OK) == 0 && run(argv, NULL);
	if (!ok)
		server_log("Unable to sign %s with MOK %s (%s)", module, fp, tool);
	free(tool);
	free(key);
	free(cert);
	return ok ? 0 : -1;
}

static const char genkey[] =
	"[ req ]\n"
	"default_bits = 4096\n"
	"distinguished_name = req_distinguished_name\n"
	"prompt = no\n"
	"x509_extensions = myexts\n"
	"\n"
	"[ req_distinguished_name ]\n"
	"O = Systemtap\n"
	"CN = Systemtap module signing key\n"
	"\n"
	"[ myexts ]\n"
	"basicConstraints=critical,CA:FALSE\n"
	"keyUsage=digitalSignature\n"
	"subjectKeyIdentifier=hash\n"
	"authorityKeyIdentifier=keyid\n";

/* A new MOK, named by its fingerprint.  NULL on failure (logged). */
static char *mok_create(void)
{
	mkdir(moks_root, 0700);
	char *conf = xasprintf("%s/x509.genkey", moks_root);
	int fd = open(conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		if (write(fd, genkey, sizeof genkey - 1) != (ssize_t)(sizeof genkey - 1))
			server_log("Unable to write %s", conf);
		close(fd);
	}
	char *tmp = xasprintf("%s/new.XXXXXX", moks_root);
	char *fp = NULL;
	if (mkdtemp(tmp)) {
		char *cert = xasprintf("%s/signing_key.x509", tmp);
		char *key = xasprintf("%s/signing_key.priv", tmp);
		char *argv[] = { "/usr/bin/openssl", "req", "-new", "-nodes", "-utf8", "-sha256",
				 "-days", "36500", "-batch", "-x509", "-config", conf,
				 "-outform", "DER", "-out", cert, "-keyout", key, NULL };
		size_t len;
		unsigned char *der = NULL;
		if (run(argv, tmp) && chmod(key, 0600) == 0 && chmod(cert, 0600) == 0 &&
		    (der = (unsigned char *)read_file_bounded(cert, 1 << 16, &len)))
			fp = cert_sha1_fingerprint(der, len);
		free(der);
		char *dest = fp ? xasprintf("%s/%s", moks_root, fp) : NULL;
		if (!dest || rename(tmp, dest) != 0) {
			unlink(cert);
			unlink(key);
			rmdir(tmp);
			free(fp);
			fp = NULL;
		}
		free(dest);
		free(cert);
		free(key);
	}
	if (fp)
		server_log("Generated a new machine owner key (MOK), fingerprint \"%s\"", fp);
	else
		server_log("Unable to generate a machine owner key (MOK) in %s", moks_root);
	free(tmp);
	free(conf);
	return fp;
}

char *mok_any_or_create(void)
{
	if (!moks_root)
		return NULL;
	pthread_mutex_lock(&mok_lock);
	char *fp = NULL;
	DIR *d = opendir(moks_root);
	struct dirent *e;
	while (d && !fp && (e = readdir(d)))
		if (e->d_name[0] != '.' && mok_valid(e->d_name))
			fp = xstrdup(e->d_name);
	if (d)
		closedir(d);
	if (!fp)
		fp = mok_create();
	pthread_mutex_unlock(&mok_lock);
	return fp;
}
