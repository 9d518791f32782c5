/* Shared set-up for the translator unit tests (see helpers.h). */
#define _GNU_SOURCE
#include <ftw.h>
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TEST_TAPSET_DIR
#define TEST_TAPSET_DIR "tapset"
#endif

void th_init(struct th *t)
{
	memset(t, 0, sizeof *t);
	session_init(&t->s);
	t->diag = open_memstream(&t->diag_buf, &t->diag_len);
	assert_non_null(t->diag);
	t->s.diag.out = t->diag;
	t->s.no_tapsets = true;
	/* a fixed kernel: no BTF, a known .config, whatever machine runs this */
	session_set_kernel(&t->s, TEST_KERNEL_DIR);
}

void th_init_tapsets(struct th *t)
{
	th_init(t);
	t->s.no_tapsets = false;
	t->s.tapset_dir = TEST_TAPSET_DIR;
	tapset_load_macros(&t->s);
}

void th_free(struct th *t)
{
	session_free(&t->s);
	fclose(t->diag);
	free(t->diag_buf);
}

const char *th_diag(struct th *t)
{
	fflush(t->diag);
	return t->diag_buf ? t->diag_buf : "";
}

bool th_diag_has(struct th *t, const char *needle)
{
	return strstr(th_diag(t), needle) != NULL;
}

int th_errors(struct th *t)
{
	return diag_errors(&t->s.diag);
}

void th_lex(struct th *t, const char *text, struct tokvec *out)
{
	struct source_file *f = session_add_text(&t->s, "<test>", text, false);
	lex_file(&t->s, f, out);
}

void th_preprocess(struct th *t, const char *text, struct tokvec *out)
{
	struct source_file *f = session_add_text(&t->s, "<test>", text, false);
	struct tokvec raw = {0};
	lex_file(&t->s, f, &raw);
	preprocess(&t->s, f, &raw, out);
	tv_free(&raw);
}

const char *th_pp_text(struct th *t, const char *text)
{
	struct tokvec out = {0};
	th_preprocess(t, text, &out);
	struct strbuf sb;
	sb_init(&sb);
	for (size_t k = 0; k < out.n; k++) {
		struct token *tok = out.v[k];
		if (tok->type == TOK_EOF)
			continue;
		if (sb.len)
			sb_putc(&sb, ' ');
		if (tok->type == TOK_STRING)
			quote_string(&sb, tok->text, tok->len);
		else
			sb_puts(&sb, tok->text);
	}
	const char *r = arena_strdup(&t->s.arena, sb.s);
	sb_free(&sb);
	tv_free(&out);
	return r;
}

struct stapfile *th_parse(struct th *t, const char *text)
{
	struct source_file *f = session_add_text(&t->s, "<test>", text, false);
	return parse_file(&t->s, f);
}

const char *th_print(struct th *t, const char *text)
{
	int before = th_errors(t);
	struct stapfile *f = th_parse(t, text);
	if (!f || th_errors(t) != before)
		return NULL;
	struct strbuf sb;
	sb_init(&sb);
	print_file(&sb, f);
	const char *r = arena_strdup(&t->s.arena, sb.s);
	sb_free(&sb);
	return r;
}

const char *th_expr(struct th *t, const char *expr)
{
	char *text = xasprintf("probe begin { %s }", expr);
	int before = th_errors(t);
	struct stapfile *f = th_parse(t, text);
	free(text);
	if (!f || th_errors(t) != before || f->probes.n != 1)
		return NULL;
	struct probe *pr = f->probes.v[0];
	if (pr->body->nbody != 1 || pr->body->body[0]->kind != S_EXPR)
		return NULL;
	struct strbuf sb;
	sb_init(&sb);
	print_expr(&sb, pr->body->body[0]->e);
	const char *r = arena_strdup(&t->s.arena, sb.s);
	sb_free(&sb);
	return r;
}

bool th_round_trip(struct th *t, const char *text, const char **first, const char **second)
{
	const char *a = th_print(t, text);
	const char *b = a ? th_print(t, a) : NULL;
	if (first)
		*first = a;
	if (second)
		*second = b;
	return a && b && strcmp(a, b) == 0;
}

/* Run f with stdout sent to a temporary file; return what it printed. */
static char *capture_stdout(bool (*f)(void *), void *arg, bool *result)
{
	fflush(stdout);
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	int saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	dup2(fileno(tmp), STDOUT_FILENO);
	*result = f(arg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	fseek(tmp, 0, SEEK_END);
	long n = ftell(tmp);
	if (n < 0)
		n = 0;
	rewind(tmp);
	char *buf = xmalloc((size_t)n + 1);
	size_t got = fread(buf, 1, (size_t)n, tmp);
	buf[got] = '\0';
	fclose(tmp);
	return buf;
}

struct elab_call {
	struct th *t;
	struct stapfile *user;
	int pass;
};

static bool run_elab(void *arg)
{
	struct elab_call *c = arg;
	return elaborate_and_report(&c->t->s, c->user, c->pass);
}

bool th_elab_pass(struct th *t, const char *text, int pass, const char **out)
{
	struct elab_call c = { t, th_parse(t, text), pass };
	bool ok;
	char *printed = capture_stdout(run_elab, &c, &ok);
	if (out)
		*out = arena_strdup(&t->s.arena, printed);
	free(printed);
	return ok;
}

bool th_elab(struct th *t, const char *text, const char **listing)
{
	return th_elab_pass(t, text, 2, listing);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

char *th_make_kernel_dir(const char *release, const char *config)
{
	char tmpl[] = "/tmp/stap-unit-kernel-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	char *p = xasprintf("%s/include", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/include/config", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/include/config/kernel.release", dir);
	write_file(p, release);
	free(p);
	if (config) {
		p = xasprintf("%s/.config", dir);
		write_file(p, config);
		free(p);
	}
	return xstrdup(dir);
}

static int th_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes the tree whatever a test put in it (a vmlinux, a build-id...). */
void th_remove_kernel_dir(char *dir)
{
	nftw(dir, th_remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

void th_assert_contains(const char *haystack, const char *needle, const char *file, int line)
{
	if (haystack && strstr(haystack, needle))
		return;
	print_error("expected to find \"%s\" in:\n%s\n", needle, haystack ? haystack : "(null)");
	_fail(file, line);
}
