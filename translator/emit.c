/* Pass 3: the module's C source.
 *
 * Layout of a generated module:
 *   globals; per-probe locals structs and per-function frames; struct
 *   context (one per CPU: error state, action budget, the locals of the
 *   running probe, a stack of function frames); the runtime's handler
 *   code (context.h); function and probe bodies; the probe table that
 *   the runtime registers.  Identical input gives identical text, so the
 *   module bytes are reproducible. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "emit.h"
#include "privilege.h"

static struct session *prog_s;   /* for arena strings while emitting */

/* The shape of a statistic: histogram kind and @variance shift. */
static void hist_decl(struct strbuf *sb, const struct vardecl *v, int idx)
{
	int shift = v->variance_shift > 0 ? v->variance_shift : 0;
	sb_printf(sb, "static const struct stp_hist global_%s_%d_hist = { ", v->unmangled, idx);
	if (v->hist_kind == 0)
		sb_printf(sb, "STP_HIST_LINEAR, %" PRId64 "LL, %" PRId64 "LL, %" PRId64 "LL, %" PRId64
			  ", %d };\n", v->hist_lo, v->hist_hi, v->hist_width,
			  (v->hist_hi - v->hist_lo) / v->hist_width + 3, shift);
	else if (v->hist_kind == 1)
		sb_printf(sb, "STP_HIST_LOG, 0, 0, 0, STP_HIST_LOG_BUCKETS, %d };\n", shift);
	else
		sb_printf(sb, "STP_HIST_NONE, 0, 0, 0, 0, %d };\n", shift);
}

static const char *map_type(const struct vardecl *v)
{
	return v->type == T_STATS ? "STP_MAP_STAT" : v->type == T_STRING ? "STP_MAP_STRING"
									: "STP_MAP_LONG";
}

/* Arrays and statistics are set up when the module starts. */
static void global_init(struct strbuf *init, struct strbuf *fini, const struct vardecl *v, int idx)
{
	const char *n = v->unmangled;
	if (v->arity > 0) {
		sb_printf(init, "\t{\n\t\tstatic const bool str_key[] = {");
		for (int k = 0; k < v->arity; k++)
			sb_printf(init, "%s%s", k ? ", " : " ", v->index_types[k] == T_STRING ? "true" : "false");
		sb_printf(init, " };\n");
		sb_printf(init, "\t\tuint32_t max = %lld;\n", v->maxsize ? (long long)v->maxsize : 0LL);
		sb_printf(init, "\t\tsize_t size = stp_map_mem_size(%s, %d, str_key, %s, max ? max : MAXMAPENTRIES);\n",
			  map_type(v), v->arity, v->type == T_STATS ? arena_printf(&prog_s->arena, "&global_%s_%d_hist", n, idx) : "NULL");
		sb_printf(init, "\t\tglobal_%s_%d_mem = vzalloc(size);\n", n, idx);
		sb_printf(init, "\t\tif (!global_%s_%d_mem)\n\t\t\treturn -ENOMEM;\n", n, idx);
		sb_printf(init, "\t\tif (stp_map_init(&global_%s_%d, %s, %d, str_key, %s, max ? max : MAXMAPENTRIES, %s, "
			  "get_random_u64(), global_%s_%d_mem, size))\n\t\t\treturn -EINVAL;\n\t}\n",
			  n, idx, map_type(v), v->arity,
			  v->type == T_STATS ? arena_printf(&prog_s->arena, "&global_%s_%d_hist", n, idx) : "NULL",
			  v->wrap ? "true" : "false", n, idx);
		sb_printf(fini, "\tvfree(global_%s_%d_mem);\n\tglobal_%s_%d_mem = NULL;\n", n, idx, n, idx);
	} else if (v->type == T_STATS) {
		sb_printf(init, "\tglobal_%s_%d = kzalloc(sizeof(struct stp_stat) + global_%s_%d_hist.buckets "
			  "* sizeof(int64_t), GFP_KERNEL);\n", n, idx, n, idx);
		sb_printf(init, "\tif (!global_%s_%d)\n\t\treturn -ENOMEM;\n", n, idx);
		sb_printf(fini, "\tkfree(global_%s_%d);\n\tglobal_%s_%d = NULL;\n", n, idx, n, idx);
	}
}

/* The script's own scalar globals can be set at load time. */
static void global_param(struct strbuf *sb, const struct vardecl *v, const struct program *prog)
{
	int idx = v->file && v->file->src ? v->file->src->index : 0;
	if (v->file != prog->user || v->arity > 0 || v->is_private)
		return;
	/* the "parm=" modinfo line is how staprun knows which options the
	 * module declares (it refuses any other, docs/privilege.md) */
	if (v->type == T_LONG)
		sb_printf(sb, "module_param_cb(%s, &stp_param_ops_s64, &global_%s_%d, 0);\n"
			  "MODULE_PARM_DESC(%s, \"script global (long)\");\n",
			  v->unmangled, v->unmangled, idx, v->unmangled);
	else if (v->type == T_STRING)
		sb_printf(sb, "module_param_string(%s, global_%s_%d, MAXSTRINGLEN, 0);\n"
			  "MODULE_PARM_DESC(%s, \"script global (string)\");\n",
			  v->unmangled, v->unmangled, idx, v->unmangled);
}

static void global_decl(struct strbuf *sb, const struct vardecl *v)
{
	int idx = v->file && v->file->src ? v->file->src->index : 0;
	if (v->type == T_STATS)
		hist_decl(sb, v, idx);
	if (v->arity > 0) {
		sb_printf(sb, "static struct stp_map global_%s_%d;\n", v->unmangled, idx);
		sb_printf(sb, "static void *global_%s_%d_mem;\n", v->unmangled, idx);
		return;
	}
	if (v->type == T_STATS) {
		sb_printf(sb, "static struct stp_stat *global_%s_%d;\n", v->unmangled, idx);
		return;
	}
	if (v->type == T_STRING) {
		sb_printf(sb, "static string_t global_%s_%d", v->unmangled, idx);
		if (v->init && v->init->is_string) {
			sb_puts(sb, " = ");
			c_string_literal(sb, v->init->str, v->init->len);
		}
	} else {
		sb_printf(sb, "static int64_t global_%s_%d", v->unmangled, idx);
		if (v->init && !v->init->is_string)
			sb_printf(sb, " = %" PRId64 "LL", v->init->num);
	}
	sb_puts(sb, ";\n");
}

static void local_decls(struct strbuf *sb, const struct ptrvec *locals)
{
	for (size_t k = 0; k < locals->n; k++) {
		const struct vardecl *v = locals->v[k];
		sb_printf(sb, "\t%s v_%s;\n", c_type(v->type), v->name);
	}
}

/* Deepest static call chain, for MAXNESTING (SystemTap: depth + 1, and
 * 10 more when anything recurses). */
static int call_depth(const struct functiondecl *f, struct ptrvec *stack, bool *recursive)
{
	for (size_t k = 0; k < stack->n; k++)
		if (stack->v[k] == f) {
			*recursive = true;
			return 0;
		}
	pv_push(stack, (void *)f);
	int best = 0;
	for (size_t k = 0; k < f->callees.n; k++) {
		int d = call_depth(f->callees.v[k], stack, recursive);
		if (d > best)
			best = d;
	}
	stack->n--;
	return best + 1;
}

static void collect_callees(const struct expr *e, struct functiondecl *f);

static void callees_stmt(const struct stmt *st, struct functiondecl *f)
{
	if (!st)
		return;
	for (int k = 0; k < st->nbody; k++)
		callees_stmt(st->body[k], f);
	collect_callees(st->e, f);
	collect_callees(st->init, f);
	collect_callees(st->incr, f);
	callees_stmt(st->then, f);
	callees_stmt(st->els, f);
}

static void collect_callees(const struct expr *e, struct functiondecl *f)
{
	if (!e)
		return;
	if (e->kind == E_FUNCALL && e->func)
		pv_push(&f->callees, e->func);
	collect_callees(e->left, f);
	collect_callees(e->right, f);
	collect_callees(e->cond, f);
	for (int k = 0; k < e->nargs; k++)
		collect_callees(e->args[k], f);
}

static int max_nesting(struct program *prog)
{
	struct functiondecl root = { 0 };
	for (size_t k = 0; k < prog->functions.n; k++) {
		struct functiondecl *f = prog->functions.v[k];
		pv_free(&f->callees);
		callees_stmt(f->body, f);
		pv_push(&root.callees, f);
	}
	struct ptrvec stack = { 0 };
	bool recursive = false;
	int depth = call_depth(&root, &stack, &recursive);   /* root itself counts 1 */
	pv_free(&stack);
	pv_free(&root.callees);
	for (size_t k = 0; k < prog->functions.n; k++)
		pv_free(&((struct functiondecl *)prog->functions.v[k])->callees);
	return depth + (recursive ? 10 : 0);
}

/* Embedded-C function: SystemTap's macros around the code. */
static void emit_embedded(struct strbuf *sb, const struct functiondecl *f, const char *fn)
{
	sb_printf(sb, "static void %s(struct context *c)\n{\n", fn);
	sb_printf(sb, "\tstruct %s_frame *l = &c->frames[c->nesting].%s;\n", fn, fn);
	sb_puts(sb, "\t(void)l;\n");
	for (int k = 0; k < f->nparams; k++)
		sb_printf(sb, "#define STAP_ARG_%s (l->a_%s)\n", f->params[k]->name, f->params[k]->name);
	if (f->type == T_STRING)
		sb_puts(sb, "#define STAP_RETURN(v) do { stp_strcpy(l->retval, (v)); goto out; } while (0)\n");
	else
		sb_puts(sb, "#define STAP_RETURN(v) do { l->retval = (v); goto out; } while (0)\n");
	sb_puts(sb, "#define STAP_RETVALUE (l->retval)\n");
	/* SystemTap's assert_is_myproc(): in a stapusr module the code runs
	 * only in a task of the user who loaded it (privilege.h) */
	if (f->myproc_unprivileged)
		sb_puts(sb, "\tif (unlikely(!stp_myproc_ok(c)))\n\t\tgoto out;\n");
	sb_printf(sb, "\t{\n%s\n\t}\n", f->embedded);
	sb_puts(sb, "\tgoto out;\nout:\n\t;\n");
	for (int k = 0; k < f->nparams; k++)
		sb_printf(sb, "#undef STAP_ARG_%s\n", f->params[k]->name);
	sb_puts(sb, "#undef STAP_RETURN\n#undef STAP_RETVALUE\n}\n\n");
}

/* Where the runtime registers a derived probe: its kind and parameters.
 * A kprobe also gets its own handler: declared in `handlers` (before the
 * table, which points at it), defined by the runtime's macro in
 * `handler_defs` (after the table, whose entry it reads as a constant). */
static void probe_table_entry(struct strbuf *sb, const struct derived_probe *dp, int n,
			      const char *pp_text, const char *extra,
			      struct strbuf *handlers, struct strbuf *handler_defs)
{
	const char *fam = dp->synthetic ? "end" : family_name(dp->family);
	const struct probe_point *pp = dp->pp;
	const char *head = pp->comps[0].name;
	int64_t arg = pp->comps[0].arg ? pp->comps[0].arg->num : 0;
	sb_printf(sb, "\t{ .pp = ");
	c_string_literal(sb, pp_text, strlen(pp_text));
	sb_printf(sb, ", .body = probe_%d, ", n);
	if (dp->cond)
		sb_printf(sb, ".cond = probe_%d_cond, ", n);
	sb_puts(sb, extra);
	if (!strcmp(fam, "begin") || !strcmp(fam, "end") || !strcmp(fam, "error")) {
		sb_printf(sb, ".kind = STP_PROBE_%s, .priority = %" PRId64 "LL },\n",
			  !strcmp(head, "begin") ? "BEGIN" : !strcmp(head, "end") ? "END" : "ERROR", arg);
	} else if (!strcmp(fam, "never")) {
		sb_puts(sb, ".kind = STP_PROBE_NEVER },\n");
	} else if (!strcmp(fam, "timer.profile")) {
		sb_puts(sb, ".kind = STP_PROBE_PROFILE },\n");
	} else if (!strcmp(fam, "kprobe")) {
		/* kprobe.function("f")[.call][.return[.maxactive(N)]],
		 * kprobe.module("m").function("f")..., kprobe.statement(A).absolute */
		bool ret = false;
		int64_t maxactive = 0;
		for (int k = 1; k < pp->ncomps; k++) {
			if (!strcmp(pp->comps[k].name, "return"))
				ret = true;
			if (!strcmp(pp->comps[k].name, "maxactive"))
				maxactive = pp->comps[k].arg->num;
		}
		sb_printf(sb, ".kind = STP_PROBE_%s, ", ret ? "KRETPROBE" : "KPROBE");
		if (ret) {
			sb_printf(sb, ".kretprobe_ret = stp_kretprobe_ret_%d, ", n);
			sb_printf(handlers, "static int stp_kretprobe_ret_%d(struct kretprobe_instance *, "
				  "struct pt_regs *);\n", n);
			sb_printf(handler_defs, "STP_KRETPROBE_HANDLER(%d)\n", n);
		} else {
			sb_printf(sb, ".kprobe_pre = stp_kprobe_pre_%d, ", n);
			sb_printf(handlers, "static int stp_kprobe_pre_%d(struct kprobe *, struct pt_regs *);\n",
				  n);
			sb_printf(handler_defs, "STP_KPROBE_HANDLER(%d)\n", n);
		}
		if (!strcmp(pp->comps[1].name, "statement")) {
			sb_printf(sb, ".address = 0x%" PRIx64 "ULL", (uint64_t)pp->comps[1].arg->num);
		} else {
			struct strbuf sym;
			sb_init(&sym);
			if (!strcmp(pp->comps[1].name, "module"))
				sb_printf(&sym, "%s:%s", pp->comps[1].arg->str, pp->comps[2].arg->str);
			else
				sb_puts(&sym, pp->comps[1].arg->str);
			sb_puts(sb, ".symbol = ");
			c_string_literal(sb, sym.s, sym.len);
			sb_free(&sym);
		}
		sb_printf(sb, ", .maxactive = %d, .optional = %s },\n", (int)maxactive,
			  dp->optional ? "true" : "false");
	} else {
		/* timer.UNIT(N)[.randomize(M)] and timer.hz(N) */
		const struct pp_component *t = &pp->comps[1];
		static const struct { const char *unit; const char *ns; } units[] = {
			{ "s", "NSEC_PER_SEC" }, { "sec", "NSEC_PER_SEC" }, { "ms", "NSEC_PER_MSEC" },
			{ "msec", "NSEC_PER_MSEC" }, { "us", "NSEC_PER_USEC" }, { "usec", "NSEC_PER_USEC" },
			{ "ns", "1" }, { "nsec", "1" }, { "jiffies", "TICK_NSEC" },
		};
		int64_t n_arg = t->arg->num;
		int64_t r = pp->ncomps == 3 ? pp->comps[2].arg->num : 0;
		if (!strcmp(t->name, "hz")) {
			sb_printf(sb, ".kind = STP_PROBE_TIMER, .interval_ns = NSEC_PER_SEC / %" PRId64 "LL },\n",
				  n_arg);
			return;
		}
		for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
			if (!strcmp(units[k].unit, t->name))
				sb_printf(sb, ".kind = STP_PROBE_TIMER, .interval_ns = %" PRId64 "LL * %s, "
					  ".randomize_ns = %" PRId64 "LL * %s },\n",
					  n_arg, units[k].ns, r, units[k].ns);
	}
}

static bool supported_family(struct program *prog, const struct derived_probe *dp)
{
	if (dp->synthetic)
		return true;   /* the end probes that display globals */
	const char *fam = family_name(dp->family);
	if (!strcmp(fam, "begin") || !strcmp(fam, "end") || !strcmp(fam, "error") ||
	    !strcmp(fam, "never") || !strcmp(fam, "timer") || !strcmp(fam, "kprobe") ||
	    !strcmp(fam, "timer.profile"))
		return true;
	sem_error(prog->s, dp->pp->pos, NULL, "pass 3 cannot translate '%s' probes yet", fam);
	return false;
}

bool emit_module(struct program *prog, const char *module_name, struct strbuf *out)
{
	struct session *s = prog->s;
	bool ok = true, any_regex = false;
	struct strbuf types, bodies, table, handlers, handler_defs;
	sb_init(&types);
	sb_init(&bodies);
	sb_init(&table);
	sb_init(&handlers);
	sb_init(&handler_defs);

	sb_printf(out, "/* Generated by stap (stapcs %s) for module %s: do not edit. */\n",
		  PACKAGE_VERSION, module_name);
	sb_printf(out, "#ifndef MAXNESTING\n#define MAXNESTING %d\n#endif\n", max_nesting(prog));
	/* the level the module is built for: the runtime checks the loader's
	 * credentials against it and, for stapusr, limits what runs */
	sb_printf(out, "#define STP_PRIVILEGE 0x%x\n", privilege_from_name(s->privilege));
	sb_puts(out, "#include \"runtime.h\"\n\n");
	/* top-level %{ %} of every file in the program (tapset helpers) */
	for (size_t f = 0; f < prog->files.n; f++) {
		const struct stapfile *file = prog->files.v[f];
		for (size_t k = 0; k < file->embeds.n; k++) {
			const struct embedded_block *b = file->embeds.v[k];
			sb_printf(out, "/* from %s */\n%s\n", file->name, b->code);
		}
	}

	sb_puts(out, "/* ---- globals ---- */\n");
	struct strbuf ginit, gfini;
	sb_init(&ginit);
	sb_init(&gfini);
	prog_s = s;
	for (size_t k = 0; k < prog->globals.n; k++) {
		const struct vardecl *v = prog->globals.v[k];
		global_decl(out, v);
		global_param(out, v, prog);
		global_init(&ginit, &gfini, v, v->file && v->file->src ? v->file->src->index : 0);
	}

	/* functions: frames, then bodies */
	struct strbuf frames;
	sb_init(&frames);
	for (size_t k = 0; k < prog->functions.n; k++) {
		struct functiondecl *f = prog->functions.v[k];
		char *fn = c_function(f);
		struct unit u = { .prog = prog, .func = f, .ok = true };
		sb_init(&u.decls);
		sb_init(&u.code);
		u.indent = 1;
		if (f->body)
			emit_body(&u, f->body);
		sb_printf(&types, "struct %s_frame {\n", fn);
		for (int p = 0; p < f->nparams; p++)
			sb_printf(&types, "\t%s a_%s;\n", c_type(f->params[p]->type), f->params[p]->name);
		local_decls(&types, &f->locals);
		sb_printf(&types, "\t%s retval;\n", c_type(f->type == T_STRING ? T_STRING : T_LONG));
		sb_puts(&types, u.decls.s);
		sb_puts(&types, "};\n");
		sb_printf(&frames, "\t\tstruct %s_frame %s;\n", fn, fn);
		sb_printf(out, "static void %s(struct context *c);\n", fn);
		if (f->embedded) {
			emit_embedded(&bodies, f, fn);
		} else {
			sb_printf(&bodies, "static void %s(struct context *c)\n{\n", fn);
			sb_printf(&bodies, "\tstruct %s_frame *l = &c->frames[c->nesting].%s;\n", fn, fn);
			sb_puts(&bodies, "\t(void)l;\n");
			sb_puts(&bodies, u.code.s);
			sb_puts(&bodies, "\tgoto out;\nout:\n\t;\n}\n\n");
		}
		ok &= u.ok;
		any_regex |= u.uses_regex;
		sb_free(&u.decls);
		sb_free(&u.code);
		free(fn);
	}

	/* probes */
	struct strbuf probe_unions;
	sb_init(&probe_unions);
	for (size_t k = 0; k < prog->probes.n; k++) {
		struct derived_probe *dp = prog->probes.v[k];
		if (!supported_family(prog, dp)) {
			ok = false;
			continue;
		}
		struct unit u = { .prog = prog, .probe = dp, .ok = true };
		sb_init(&u.decls);
		sb_init(&u.code);
		u.indent = 1;
		if (dp->cond) {
			/* `probe P if (cond)`: checked when P fires, before the body */
			const char *v = emit_condition(&u, dp->cond);
			sb_printf(&bodies, "static int probe_%zu_cond(struct context *c)\n{\n", k);
			sb_printf(&bodies, "\tstruct probe_%zu_locals *l = &c->probe_locals.p%zu;\n", k, k);
			sb_puts(&bodies, "\tmemset(l, 0, sizeof *l);\n");
			sb_puts(&bodies, u.code.s);
			sb_printf(&bodies, "\treturn %s != 0;\n\tgoto out;\nout:\n\treturn 0;\n}\n\n", v);
			sb_free(&u.code);
			sb_init(&u.code);
		}
		emit_body(&u, dp->body);
		if (u.entries.n) {
			/* @entry: the values, and a function computing them at entry */
			sb_printf(&types, "struct probe_entry_%d {\n", dp->serial);
			for (size_t e = 0; e < u.entries.n; e++)
				sb_printf(&types, "\t%s e%zu;\n",
					  c_type(((struct expr *)u.entries.v[e])->type), e);
			sb_puts(&types, "};\n");
			struct strbuf body_code = u.code;
			sb_init(&u.code);
			emit_entry_values(&u);
			sb_printf(&bodies, "static void probe_%zu_entry(struct context *c)\n{\n", k);
			sb_printf(&bodies, "\tstruct probe_%zu_locals *l = &c->probe_locals.p%zu;\n", k, k);
			sb_printf(&bodies, "\tstruct probe_entry_%d *d = c->entry_data;\n", dp->serial);
			sb_puts(&bodies, "\tmemset(l, 0, sizeof *l);\n");
			sb_puts(&bodies, u.code.s);
			sb_puts(&bodies, "\tgoto out;\nout:\n\t;\n}\n\n");
			sb_free(&u.code);
			u.code = body_code;
		}
		sb_printf(&types, "struct probe_%zu_locals {\n\tchar unused;\n", k);
		local_decls(&types, &dp->locals);
		sb_puts(&types, u.decls.s);
		sb_puts(&types, "};\n");
		sb_printf(&probe_unions, "\t\tstruct probe_%zu_locals p%zu;\n", k, k);
		/* inline: a kprobe handler (STP_KPROBE_HANDLER) may take a small body
		 * in; the kernel's inline is also notrace */
		sb_printf(&bodies, "static inline void probe_%zu(struct context *c)\n{\n", k);
		sb_printf(&bodies, "\tstruct probe_%zu_locals *l = &c->probe_locals.p%zu;\n", k, k);
		/* script locals start at 0; the size is known here, so this is a
		 * few stores, not a call */
		sb_puts(&bodies, "\tmemset(l, 0, sizeof *l);\n");
		sb_puts(&bodies, u.code.s);
		sb_puts(&bodies, "\tgoto out;\nout:\n\t;\n}\n\n");
		struct strbuf ppt;
		sb_init(&ppt);
		print_probe_point(&ppt, dp->pp);
		char *extra = u.entries.n
			? arena_printf(&s->arena, ".entry = probe_%zu_entry, .entry_size = "
				       "sizeof(struct probe_entry_%d), ", k, dp->serial)
			: "";
		probe_table_entry(&table, dp, (int)k, ppt.s, extra, &handlers, &handler_defs);
		sb_free(&ppt);
		pv_free(&u.entries);
		any_regex |= u.uses_regex;
		ok &= u.ok;
		sb_free(&u.decls);
		sb_free(&u.code);
	}

	sb_puts(out, "\n/* ---- locals of probes and frames of functions ---- */\n");
	sb_puts(out, types.s);
	sb_puts(out, "\nstruct context {\n\tSTP_CONTEXT_COMMON\n");
	if (any_regex)
		sb_puts(out, "\tstruct stp_re_scratch re_scratch;   /* =~ threads */\n");
	sb_printf(out, "\tunion {\n\t\tchar none;\n%s\t} probe_locals;\n", probe_unions.s);
	sb_printf(out, "\tunion {\n\t\tchar none;\n%s\t} frames[MAXNESTING];\n};\n\n", frames.s);
	/* the runtime compiles the registration code of the probe families
	 * the table uses, and no other */
	if (strstr(table.s, "STP_PROBE_TIMER"))
		sb_puts(out, "#define STP_NEED_TIMERS 1\n");
	if (strstr(table.s, "STP_PROBE_PROFILE"))
		sb_puts(out, "#define STP_NEED_PROFILE 1\n");
	if (strstr(table.s, "STP_PROBE_KPROBE") || strstr(table.s, "STP_PROBE_KRETPROBE"))
		sb_puts(out, "#define STP_NEED_KPROBES 1\n");
	sb_puts(out, "#include \"context.h\"\n\n");
	sb_puts(out, "/* ---- functions and probes ---- */\n");
	sb_puts(out, bodies.s);
	sb_printf(out, "static int stp_globals_init(void)\n{\n%s\treturn 0;\n}\n\n", ginit.s);
	sb_printf(out, "static void stp_globals_free(void)\n{\n%s}\n\n", gfini.s);
	sb_free(&ginit);
	sb_free(&gfini);
	sb_puts(out, "/* ---- probe table ---- */\n");
	sb_puts(out, handlers.s);
	sb_puts(out, "const struct stp_probe stp_probes[] = {\n");
	sb_puts(out, table.s);
	sb_puts(out, "};\nconst size_t stp_nprobes = ARRAY_SIZE(stp_probes);\n");
	sb_puts(out, handler_defs.s);
	sb_free(&handlers);
	sb_free(&handler_defs);
	sb_printf(out, "const char stp_module_name[] = \"%s\";\n", module_name);

	/* what staprun reads before loading (docs/privilege.md): the level
	 * the module needs, the kernel it was built for, who built it */
	sb_puts(out, "\n/* ---- identity ---- */\n");
	sb_puts(out, "int stp_required_privilege __attribute__((section(\".stap_privilege\"), used)) = "
		"STP_PRIVILEGE;\n");
	const char *bid = s->kernel.rec && s->kernel.rec->build_id ? s->kernel.rec->build_id : "";
	sb_printf(out, "const char stp_kernel_build_id[] __attribute__((section(\".stap_kernel_build_id\"), used)) = \"%s\";\n",
		  bid);
	sb_printf(out, "const char stp_translator_version[] __attribute__((section(\".stap_version\"), used)) = \"stapcs %s\";\n",
		  PACKAGE_VERSION);

	sb_free(&types);
	sb_free(&bodies);
	sb_free(&table);
	sb_free(&frames);
	sb_free(&probe_unions);
	return ok;
}
