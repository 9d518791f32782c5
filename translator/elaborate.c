/* Pass 2 driver: library, probe derivation, resolution, types, the
 * automatic display of write-only globals, and the `stap -p2` listing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "elab.h"
#include "elaborate.h"
#include "emit.h"
#include "kbuild.h"

/* ---- diagnostics with de-duplication ----
 * A body shared by several probe points is checked once per point; the
 * same message at the same place is reported once. */

static struct ptrvec seen_messages;

static bool already_said(const char *key)
{
	for (size_t k = 0; k < seen_messages.n; k++)
		if (!strcmp(seen_messages.v[k], key))
			return true;
	pv_push(&seen_messages, xstrdup(key));
	return false;
}

static void report_v(struct session *s, enum diag_kind kind, struct srcpos pos,
		     const struct token *tok, const char *fmt, va_list ap)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_vprintf(&sb, fmt, ap);
	char *key = xasprintf("%d:%p:%d:%d:%s", kind, (const void *)pos.file, pos.line, pos.col,
			      sb.s);
	if (!already_said(key))
		diag_report(&s->diag, kind, pos, tok ? tok_describe(s, tok) : NULL, "%s", sb.s);
	free(key);
	sb_free(&sb);
}

void sem_error(struct session *s, struct srcpos pos, const struct token *tok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(s, DIAG_SEMANTIC, pos, tok, fmt, ap);
	va_end(ap);
}

void sem_warning(struct session *s, struct srcpos pos, const struct token *tok,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(s, DIAG_WARNING, pos, tok, fmt, ap);
	va_end(ap);
}

/* ---- automatic display of globals that are written but never read ---- */

static void mark_expr(const struct expr *e, bool write);

static void mark_var(struct vardecl *v, bool write)
{
	if (!v)
		return;
	if (write)
		v->written = true;
	else
		v->read = true;
}

static void mark_lvalue(const struct expr *e)
{
	if (e->kind == E_SYMBOL) {
		mark_var(e->referent, true);
	} else if (e->kind == E_ARRAYINDEX && e->base->kind == E_SYMBOL) {
		mark_var(e->base->referent, true);
		for (int k = 0; k < e->nargs; k++)
			if (e->args[k])
				mark_expr(e->args[k], false);
	} else {
		mark_expr(e, false);
	}
}

static void mark_expr(const struct expr *e, bool write)
{
	if (!e)
		return;
	switch (e->kind) {
	case E_SYMBOL:
		mark_var(e->referent, write);
		return;
	case E_ASSIGN:
		/* x += 1 reads x as well, yet SystemTap still displays x: only
		 * the store counts */
		mark_lvalue(e->left);
		mark_expr(e->right, false);
		return;
	case E_PREINC: case E_POSTINC:
		mark_lvalue(e->left);
		return;
	default:
		break;
	}
	mark_expr(e->left, false);
	mark_expr(e->right, false);
	mark_expr(e->cond, false);
	mark_expr(e->base, false);
	for (int k = 0; k < e->nargs; k++)
		mark_expr(e->args[k], false);
	for (int k = 0; k < e->ncomps; k++)
		mark_expr(e->comps[k].index, false);
}

static void mark_stmt(const struct stmt *st)
{
	if (!st)
		return;
	for (int k = 0; k < st->nbody; k++)
		mark_stmt(st->body[k]);
	if (st->kind == S_DELETE)
		mark_lvalue(st->e);
	else
		mark_expr(st->e, false);
	mark_expr(st->init, false);
	mark_expr(st->incr, false);
	mark_expr(st->fe_base, false);
	mark_expr(st->fe_limit, false);
	for (int k = 0; k < st->fe_nslice; k++)
		mark_expr(st->fe_slice[k], false);
	mark_stmt(st->then);
	mark_stmt(st->els);
}

struct builder {
	struct session *s;
	struct srcpos pos;
};

static struct expr *b_sym(struct builder *b, struct vardecl *v)
{
	struct expr *e = new_expr(b->s, E_SYMBOL, b->pos);
	e->name = v->name;
	e->referent = v;
	e->type = v->type;
	return e;
}

static struct expr *b_str(struct builder *b, const char *text)
{
	struct expr *e = new_expr(b->s, E_STRING, b->pos);
	e->str = arena_strdup(&b->s->arena, text);
	e->len = strlen(text);
	e->type = T_STRING;
	return e;
}

static struct expr *b_printf(struct builder *b, const char *fmt, struct expr **args, int n)
{
	struct expr *e = new_expr(b->s, E_PRINT, b->pos);
	e->name = "printf";
	e->fmt = b_str(b, fmt);
	e->args = arena_alloc(&b->s->arena, (size_t)(n ? n : 1) * sizeof *e->args);
	if (n)
		memcpy(e->args, args, (size_t)n * sizeof *args);
	e->nargs = n;
	e->type = T_LONG;
	return e;
}

static struct stmt *b_exprstmt(struct builder *b, struct expr *e)
{
	struct stmt *st = new_stmt(b->s, S_EXPR, b->pos);
	st->e = e;
	return st;
}

static struct expr *b_statop(struct builder *b, const char *op, struct expr *operand)
{
	struct expr *e = new_expr(b->s, E_STATOP, b->pos);
	e->name = op;
	e->left = operand;
	e->num = -1;
	e->type = T_LONG;
	return e;
}

static struct vardecl *b_local(struct builder *b, struct derived_probe *dp, const char *name,
			       enum exp_type type)
{
	struct vardecl *v = arena_alloc(&b->s->arena, sizeof *v);
	v->name = v->unmangled = arena_strdup(&b->s->arena, name);
	v->type = type;
	v->hist_kind = -1;
	v->variance_shift = -1;
	v->synthetic = true;
	pv_push(&dp->locals, v);
	return v;
}

static const char *const stat_names[] = { "@count", "@min", "@max", "@sum", "@avg" };

/* printf arguments for the five statistics of `operand_of(k)` */
static void stats_args(struct builder *b, struct expr **args, int *n, struct vardecl *v,
		       struct vardecl **keys, int nkeys)
{
	for (int k = 0; k < 5; k++) {
		struct expr *operand;
		if (nkeys) {
			operand = new_expr(b->s, E_ARRAYINDEX, b->pos);
			operand->base = b_sym(b, v);
			operand->args = arena_alloc(&b->s->arena, (size_t)nkeys * sizeof *operand->args);
			for (int j = 0; j < nkeys; j++)
				operand->args[j] = b_sym(b, keys[j]);
			operand->nargs = nkeys;
			operand->type = T_STATS;
		} else {
			operand = b_sym(b, v);
		}
		args[(*n)++] = b_statop(b, stat_names[k], operand);
	}
}

static struct stmt *display_stmt(struct builder *b, struct derived_probe *dp, struct vardecl *v)
{
	struct session *s = b->s;
	const char *name = v->unmangled;
	struct strbuf fmt;
	sb_init(&fmt);
	struct expr *args[32];
	int n = 0;
	struct stmt *result;
	if (v->arity == 0) {
		if (v->type == T_STATS) {
			sb_printf(&fmt, "%s @count=%%#d @min=%%#d @max=%%#d @sum=%%#d @avg=%%#d\n", name);
			stats_args(b, args, &n, v, NULL, 0);
			struct stmt *st = new_stmt(s, S_IF, b->pos);
			struct expr *cmp = new_expr(s, E_COMPARE, b->pos);
			cmp->op = "==";
			cmp->left = b_statop(b, "@count", b_sym(b, v));
			cmp->right = new_expr(s, E_NUMBER, b->pos);
			cmp->right->type = T_LONG;
			cmp->type = T_LONG;
			st->e = cmp;
			char *empty = xasprintf("%s @count=0x0\n", name);
			st->then = b_exprstmt(b, b_printf(b, empty, NULL, 0));
			free(empty);
			st->els = b_exprstmt(b, b_printf(b, fmt.s, args, n));
			result = st;
		} else {
			sb_printf(&fmt, v->type == T_STRING ? "%s=\"%%#s\"\n" : "%s=%%d\n", name);
			args[n++] = b_sym(b, v);
			result = b_exprstmt(b, b_printf(b, fmt.s, args, n));
		}
		sb_free(&fmt);
		return result;
	}
	int nkeys = v->arity > 9 ? 9 : v->arity;
	struct vardecl *keys[9];
	struct stmt *fe = new_stmt(s, S_FOREACH, b->pos);
	fe->fe_keys = arena_alloc(&s->arena, (size_t)nkeys * sizeof *fe->fe_keys);
	sb_printf(&fmt, "%s[", name);
	for (int k = 0; k < nkeys; k++) {
		char kn[16];
		snprintf(kn, sizeof kn, "__idx%d", k);
		keys[k] = b_local(b, dp, kn, v->index_types[k]);
		fe->fe_keys[k] = b_sym(b, keys[k]);
		sb_puts(&fmt, k ? "," : "");
		sb_puts(&fmt, v->index_types[k] == T_STRING ? "\"%#s\"" : "%#d");
		args[n++] = b_sym(b, keys[k]);
	}
	fe->fe_nkeys = nkeys;
	fe->fe_base = b_sym(b, v);
	fe->fe_sort_column = 0;
	fe->fe_sort_dir = -1;
	sb_putc(&fmt, ']');
	if (v->type == T_STATS) {
		sb_puts(&fmt, " @count=%#d @min=%#d @max=%#d @sum=%#d @avg=%#d\n");
		stats_args(b, args, &n, v, keys, nkeys);
	} else {
		struct vardecl *val = b_local(b, dp, "__val", v->type);
		fe->fe_value = b_sym(b, val);
		sb_puts(&fmt, v->type == T_STRING ? "=\"%#s\"\n" : "=%d\n");
		args[n++] = b_sym(b, val);
	}
	fe->then = b_exprstmt(b, b_printf(b, fmt.s, args, n));
	sb_free(&fmt);
	return fe;
}

static void add_display_probes(struct program *prog)
{
	struct session *s = prog->s;
	for (size_t k = 0; k < prog->probes.n; k++) {
		struct derived_probe *dp = prog->probes.v[k];
		mark_expr(dp->cond, false);
		mark_stmt(dp->body);
	}
	for (size_t k = 0; k < prog->functions.n; k++)
		mark_stmt(((struct functiondecl *)prog->functions.v[k])->body);
	size_t nglobals = prog->globals.n;
	for (size_t k = 0; k < nglobals; k++) {
		struct vardecl *v = prog->globals.v[k];
		if (!v->written || v->read || v->file != prog->user || v->type == T_UNKNOWN)
			continue;
		struct derived_probe *dp = arena_alloc(&s->arena, sizeof *dp);
		struct probe_point *pp = arena_alloc(&s->arena, sizeof *pp);
		pp->comps = arena_alloc(&s->arena, sizeof *pp->comps);
		pp->comps[0].name = "end";
		pp->ncomps = 1;
		pp->pos = v->pos;
		dp->pp = pp;
		dp->origin = "end";
		dp->file = prog->user;
		dp->synthetic = true;
		dp->serial = (int)prog->probes.n;
		struct builder b = { s, v->pos };
		struct stmt *blk = new_stmt(s, S_BLOCK, v->pos);
		blk->body = arena_alloc(&s->arena, sizeof *blk->body);
		blk->body[0] = display_stmt(&b, dp, v);
		blk->nbody = 1;
		dp->body = blk;
		pv_push(&prog->probes, dp);
	}
}

/* ---- the -p2 listing ---- */

static void print_var(struct strbuf *sb, const struct vardecl *v, const char *indent)
{
	sb_printf(sb, "%s%s", indent, v->unmangled);
	if (v->wrap)
		sb_putc(sb, '%');
	if (v->maxsize)
		sb_printf(sb, "[%lld]", (long long)v->maxsize);
	sb_printf(sb, ":%s", exp_type_name(v->type));
	if (v->arity > 0) {
		sb_puts(sb, " [");
		for (int k = 0; k < v->arity; k++)
			sb_printf(sb, "%s%s", k ? ", " : "", exp_type_name(v->index_types[k]));
		sb_putc(sb, ']');
	}
	sb_putc(sb, '\n');
}

static void print_locals(struct strbuf *sb, const struct ptrvec *locals)
{
	if (!locals->n)
		return;
	sb_puts(sb, "  # locals\n");
	for (size_t k = 0; k < locals->n; k++)
		print_var(sb, locals->v[k], "  ");
}

static int cmp_func_name(const void *a, const void *b)
{
	const struct functiondecl *x = *(struct functiondecl *const *)a;
	const struct functiondecl *y = *(struct functiondecl *const *)b;
	int c = strcmp(x->unmangled, y->unmangled);
	return c ? c : x->serial - y->serial;
}

static void print_program(struct program *prog, FILE *out)
{
	struct session *s = prog->s;
	struct strbuf sb;
	sb_init(&sb);
	if (prog->globals.n) {
		sb_puts(&sb, "# globals\n");
		for (size_t k = 0; k < prog->globals.n; k++)
			print_var(&sb, prog->globals.v[k], "");
	}
	if (prog->functions.n) {
		sb_puts(&sb, "# functions\n");
		struct functiondecl **sorted = xmalloc(prog->functions.n * sizeof *sorted);
		memcpy(sorted, prog->functions.v, prog->functions.n * sizeof *sorted);
		qsort(sorted, prog->functions.n, sizeof *sorted, cmp_func_name);
		for (size_t k = 0; k < prog->functions.n; k++) {
			struct functiondecl *f = sorted[k];
			sb_printf(&sb, "%s:%s (", f->unmangled, exp_type_name(f->type));
			for (int p = 0; p < f->nparams; p++)
				sb_printf(&sb, "%s%s:%s", p ? ", " : "", f->params[p]->name,
					  exp_type_name(f->params[p]->type));
			sb_puts(&sb, ")\n");
			print_locals(&sb, &f->locals);
			if (s->verbose) {
				if (f->embedded) {
					sb_printf(&sb, "%%{%s%%}\n", f->embedded);
				} else {
					print_stmt(&sb, f->body, 0);
					sb_putc(&sb, '\n');
				}
			}
		}
		free(sorted);
	}
	sb_puts(&sb, "# probes\n");
	for (size_t k = 0; k < prog->probes.n; k++) {
		struct derived_probe *dp = prog->probes.v[k];
		print_probe_point(&sb, dp->pp);
		sb_printf(&sb, " /* <- %s */\n", dp->origin);
		print_locals(&sb, &dp->locals);
		if (s->verbose) {
			print_stmt(&sb, dp->body, 0);
			sb_putc(&sb, '\n');
		}
	}
	fwrite(sb.s, 1, sb.len, out);
	sb_free(&sb);
}

/* Name of a module: -m NAME, else stap_ and a hash of its source, so that
 * the same script and options give the same module. */
static char *module_name(struct session *s, const char *source)
{
	if (s->module_name)
		return xstrdup(s->module_name);
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = source; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return xasprintf("stap_%016llx", (unsigned long long)h);
}

/* Pass 5: hand the module to staprun, which loads it and relays its
 * output; only where the module's kernel is the one running. */
bool run_staprun(struct session *s, const char *ko)
{
	struct utsname u;
	uname(&u);
	if (strcmp(u.release, s->kernel.release) != 0) {
		fprintf(s->diag.out,
			"stap: ERROR: the module is built for kernel %s, but this machine runs %s\n"
			"stap: run it where %s runs (staprun %s), in the QEMU target (tests/vm/run.sh), "
			"or build for this kernel with its headers installed\n",
			s->kernel.release, u.release, s->kernel.release, ko);
		return false;
	}
	char self[4096];
	char *staprun = xstrdup("staprun");
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			char *beside = xasprintf("%.*s/staprun", (int)(slash - self), self);
			if (access(beside, X_OK) == 0) {
				free(staprun);
				staprun = beside;
			} else {
				free(beside);
			}
		}
	}
	char **argv = xcalloc(s->staprun_args.n + 3, sizeof *argv);
	int k = 0;
	argv[k++] = staprun;
	for (size_t a = 0; a < s->staprun_args.n; a++)
		argv[k++] = s->staprun_args.v[a];
	argv[k++] = (char *)ko;
	fflush(NULL);
	execvp(staprun, argv);
	fprintf(s->diag.out, "stap: ERROR: cannot run %s: %s\n", staprun, strerror(errno));
	free(argv);
	free(staprun);
	return false;
}

/* Passes 3 and 4 (pass 5, running the module, is staprun's). */
static bool translate_and_build(struct program *prog, int pass)
{
	struct session *s = prog->s;
	struct strbuf draft, c;
	sb_init(&draft);
	bool ok = emit_module(prog, "stap_module", &draft);
	if (!ok) {
		fprintf(s->diag.out, "Pass 3: translation failed.\n");
		sb_free(&draft);
		return false;
	}
	char *name = module_name(s, draft.s);
	sb_init(&c);
	emit_module(prog, name, &c);
	sb_free(&draft);
	if (pass == 3) {
		fwrite(c.s, 1, c.len, stdout);
	} else {
		if (!s->kernel.rec || !s->kernel.rec->build_id)
			fprintf(s->diag.out, "WARNING: no vmlinux for kernel %s (only its headers): the "
				"module records no kernel build-id\n", s->kernel.release);
		char *ko = kbuild_module(s, name, c.s, s->runtime_dir,
					 s->out_dir ? s->out_dir : ".");
		ok = ko != NULL;
		if (ko)
			printf("%s\n", ko);
		else
			fprintf(s->diag.out, "Pass 4: compilation failed.\n");
		if (ok && pass >= 5)
			ok = run_staprun(s, ko);
		free(ko);
	}
	sb_free(&c);
	free(name);
	return ok;
}

bool elaborate_and_report(struct session *s, struct stapfile *user, int pass)
{
	struct program prog = { .s = s, .user = user };
	int parse_errors_before = s->diag.parse_errors;
	if (!s->no_tapsets)
		tapset_parse_library(s, &prog.library);
	if (s->diag.parse_errors > parse_errors_before)
		fprintf(s->diag.out, "stap: the tapset library has parse errors (above)\n");

	/* declaration order, for overload chains: script first, then library */
	int serial = 0;
	for (size_t k = 0; k < user->functions.n; k++)
		((struct functiondecl *)user->functions.v[k])->serial = serial++;
	for (size_t f = 0; f < prog.library.n; f++) {
		struct stapfile *lib = prog.library.v[f];
		for (size_t k = 0; k < lib->functions.n; k++)
			((struct functiondecl *)lib->functions.v[k])->serial = serial++;
	}

	bool ok = diag_errors(&s->diag) == 0;
	if (ok) {
		index_program(&prog);
		use_file(&prog, user);
		resolve_program(&prog);
		if (prog.probes.n == 0 && diag_errors(&s->diag) == 0)
			sem_error(s, user->src ? (struct srcpos){ user->src, 1, 1 } : (struct srcpos){0},
				  NULL, "no probes found");
		infer_types(&prog);
		if (diag_errors(&s->diag) == 0) {
			size_t before = prog.probes.n;
			add_display_probes(&prog);
			if (prog.probes.n != before)
				infer_types(&prog);
		}
		ok = diag_errors(&s->diag) == 0;
	}
	if (!ok) {
		int n = diag_errors(&s->diag);
		fprintf(s->diag.out, "%d error%s.\nPass %d: %s failed.\n", n, n == 1 ? "" : "s",
			s->diag.parse_errors ? 1 : 2,
			s->diag.parse_errors ? "parse" : "analysis");
	} else if (pass == 2) {
		print_program(&prog, stdout);
	} else {
		ok = translate_and_build(&prog, pass);
	}
	for (size_t k = 0; k < prog.probes.n; k++)
		pv_free(&((struct derived_probe *)prog.probes.v[k])->locals);
	for (size_t k = 0; k < prog.functions.n; k++)
		pv_free(&((struct functiondecl *)prog.functions.v[k])->locals);
	pv_free(&prog.library);
	pv_free(&prog.probes);
	pv_free(&prog.functions);
	pv_free(&prog.globals);
	pv_free(&prog.files);
	free_program_index(&prog);
	for (size_t k = 0; k < seen_messages.n; k++)
		free(seen_messages.v[k]);
	pv_free(&seen_messages);
	return ok;
}
