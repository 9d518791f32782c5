/* The syntax tree of a stap script, shared by every pass.
 *
 * Nodes live in the session arena; nothing is freed one by one.  Pass 1
 * fills the syntax fields; pass 2 fills the "resolved" fields (referents
 * and types) and builds derived probes. */
#ifndef STAP_AST_H
#define STAP_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "token.h"
#include "util.h"

struct session;
struct stapfile;
struct vardecl;
struct functiondecl;

enum exp_type {
	T_UNKNOWN = 0,
	T_LONG,
	T_STRING,
	T_STATS,
};
const char *exp_type_name(enum exp_type t);

/* ---- expressions ---- */

enum expr_kind {
	E_NUMBER,       /* num */
	E_STRING,       /* str, len */
	E_SYMBOL,       /* name; referent after pass 2 */
	E_ARRAYINDEX,   /* base (symbol or hist op), args (NULL slot = '*') */
	E_FUNCALL,      /* name, args; func after pass 2 */
	E_PRINT,        /* print family: name, fmt (printf/printd), args */
	E_UNARY,        /* op, left */
	E_BINARY,       /* op in + - * / % << >> >>> & | ^ */
	E_LOGICAL,      /* op in && || */
	E_COMPARE,      /* op in < <= > >= == != */
	E_CONCAT,       /* . */
	E_REGEX,        /* left, op in =~ !~, str/len = regex */
	E_TERNARY,      /* cond, left (true), right (false) */
	E_ASSIGN,       /* left op= right; op includes "<<<" */
	E_PREINC,       /* op "++"/"--", left */
	E_POSTINC,
	E_IN,           /* args (NULL = '*') in base */
	E_STATOP,       /* @count etc: name, left; num = @variance shift or -1 */
	E_HIST,         /* @hist_linear(left, lo, hi, width) / @hist_log(left) */
	E_TARGET,       /* $name with components, addressof, pretty */
	E_CAST,         /* @cast(left, type [, module]) with components */
	E_ATVAR,        /* @var("name" [, module]) with components */
	E_AUTOCAST,     /* left then components (expr->a, expr[i]) */
	E_DEFINED,      /* @defined(left) */
	E_ENTRY,        /* @entry(left) */
	E_PERF,         /* @perf("name") */
	E_CONST,        /* @const("C_NAME") */
	E_PROBEWRITE,   /* @probewrite(name) */
	E_REGISTER,     /* @kregister(n) / @uregister(n): name, num */
	E_DEREF,        /* @kderef(n, addr) / @uderef: name, num, left */
	E_EMBEDDED,     /* %{ code %} as expression */
	E_TARGET_VARS,  /* $$vars $$parms $$locals $$return (pretty = $ suffix) */
};

enum comp_kind { COMP_MEMBER, COMP_INDEX };

/* One step of a target-variable chain: ->member or [index]. */
struct target_comp {
	enum comp_kind kind;
	const char *member;     /* COMP_MEMBER */
	struct expr *index;     /* COMP_INDEX */
	struct srcpos pos;
};

struct expr {
	enum expr_kind kind;
	struct srcpos pos;
	const struct token *tok; /* principal token, for messages; may be NULL */
	enum exp_type type;      /* inferred type (pass 2) */

	const char *op;          /* operator spelling */
	const char *name;        /* symbol, function, at-word, print name */
	int64_t num;             /* number value; hist/statop params */
	const char *str;         /* string value (decoded), regex, embedded code */
	size_t len;              /* length of str */

	struct expr *left, *right, *cond, *base;
	struct expr **args;      /* call / index arguments */
	int nargs;
	struct expr *fmt;        /* printf/printd first argument (string literal) */

	/* E_HIST */
	int hist_kind;           /* 0 = linear, 1 = log */
	int64_t hist_lo, hist_hi, hist_width;

	/* E_TARGET, E_CAST, E_ATVAR, E_AUTOCAST */
	struct target_comp *comps;
	int ncomps;
	bool addressof;          /* &$x->f */
	int pretty;              /* 0, 1 ($), 2 ($$) */
	const char *cast_type;   /* @cast type / @var name */
	const char *cast_module; /* may be NULL */

	/* pass 2 */
	struct vardecl *referent;       /* E_SYMBOL, E_ARRAYINDEX on arrays */
	struct functiondecl *func;      /* E_FUNCALL */
	struct functiondecl **overloads; /* same-arity runtime chain */
	int noverloads;
};

/* ---- statements ---- */

enum stmt_kind {
	S_NULL,       /* ; */
	S_BLOCK,
	S_EXPR,
	S_IF,
	S_WHILE,
	S_FOR,
	S_FOREACH,
	S_RETURN,
	S_DELETE,
	S_BREAK,
	S_CONTINUE,
	S_NEXT,
	S_TRY,
	S_EMBEDDED,   /* %{ %} as a statement */
};

struct stmt {
	enum stmt_kind kind;
	struct srcpos pos;
	const struct token *tok;

	struct stmt **body;      /* S_BLOCK */
	int nbody;

	struct expr *e;          /* S_EXPR, S_RETURN (may be NULL), S_DELETE,
	                            S_IF/S_WHILE/S_FOR condition (NULL = 1) */
	struct stmt *then, *els; /* S_IF; then = loop body for loops;
	                            then = try block, els = catch block */
	struct expr *init, *incr; /* S_FOR */
	const char *code;        /* S_EMBEDDED */

	/* S_FOREACH */
	struct expr *fe_value;   /* symbol receiving the value, or NULL */
	struct expr **fe_keys;   /* symbols receiving keys */
	int fe_nkeys;
	struct expr *fe_base;    /* array symbol or E_HIST */
	struct expr **fe_slice;  /* NULL or nkeys slots, NULL slot = '*' */
	int fe_nslice;
	int fe_sort_column;      /* 0 = value, 1..n = key, -1 = unsorted */
	int fe_sort_dir;         /* +1 ascending, -1 descending, 0 none */
	const char *fe_sort_agg; /* "@count"... or NULL (value sort of stats) */
	struct expr *fe_limit;

	/* S_TRY */
	struct expr *catch_var;  /* symbol or NULL */

	/* S_BLOCK made by alias expansion: code inside belongs to this file
	 * (its private names and privileges apply); NULL = same as parent */
	struct stapfile *scope_file;
};

/* ---- declarations ---- */

struct literal {
	bool is_string;
	int64_t num;
	const char *str;
	size_t len;
	struct srcpos pos;
};

struct vardecl {
	const char *name;        /* as written */
	const char *unmangled;   /* for private globals: the name in the file */
	struct srcpos pos;
	const struct token *tok;
	struct stapfile *file;
	bool is_global, is_private, wrap;
	int64_t maxsize;         /* [N]; 0 = default */
	struct literal *init;    /* scalar initialiser */
	bool is_param;

	/* pass 2 */
	enum exp_type type;
	int arity;               /* -1 unknown, 0 scalar, >0 array */
	enum exp_type *index_types;
	bool read, written;      /* seen anywhere in used code */
	bool in_program;         /* listed in the elaborated program's globals */
	int hist_kind;           /* -1 none, 0 linear, 1 log: one shape per var */
	int64_t hist_lo, hist_hi, hist_width;
	struct expr *hist_first; /* first histogram use, for messages */
	int variance_shift;      /* -1 none */
	struct srcpos type_pos;  /* where the type was first inferred */
	const struct token *type_tok;
	bool type_pos_set;
	const struct expr **index_pos; /* where each index type was inferred */
	struct srcpos arity_pos; /* where the arity was first inferred */
	const struct token *arity_tok;
	bool synthetic;
};

struct functiondecl {
	const char *name;
	const char *unmangled;
	struct srcpos pos;
	const struct token *tok;
	struct stapfile *file;
	bool is_private;
	enum exp_type decl_type; /* :long / :string, else T_UNKNOWN */
	struct vardecl **params;
	int nparams;
	int64_t priority;        /* 0 user, 1 tapset default, or :N */
	bool has_priority;
	struct stmt *body;       /* block, or NULL when embedded */
	const char *embedded;    /* %{ %} body */
	bool pure, unprivileged, myproc_unprivileged, guru, string_type;

	/* pass 2 */
	enum exp_type type;
	bool returns_value;      /* has `return EXPR` or a declared type */
	struct ptrvec writes;    /* arrays it stores into, with its callees' */
	struct ptrvec callees;   /* functions it calls */
	struct ptrvec locals;    /* struct vardecl * */
	bool used;
	int serial;              /* declaration order */
	struct srcpos type_pos;
	bool type_pos_set;
};

/* A probe point: components, optional/sufficient flags, condition. */
struct pp_component {
	const char *name;        /* may contain '*' wildcards */
	struct literal *arg;     /* NULL if no (arg) */
	struct srcpos pos;
};

struct probe_point {
	struct pp_component *comps;
	int ncomps;
	bool optional;           /* ? */
	bool sufficient;         /* ! (implies optional) */
	struct expr *cond;       /* if (...) or NULL */
	struct srcpos pos;
};

struct probe {
	struct probe_point **points;
	int npoints;
	struct stmt *body;
	struct srcpos pos;
	struct stapfile *file;

	/* alias definitions: probe N1 = N2 = points { prologue } [, { epilogue }] */
	struct probe_point **alias_names;
	int nalias_names;
	bool epilogue_style;     /* += */
	struct stmt *epilogue;   /* body of the second block in  = x {..},{..} */
	bool privileged;         /* came from a tapset file */
	int serial;
};

struct embedded_block {
	const char *code;
	struct srcpos pos;
};

struct stapfile {
	struct source_file *src;
	const char *name;
	struct ptrvec probes;     /* struct probe *, not aliases */
	struct ptrvec aliases;    /* struct probe * with alias_names */
	struct ptrvec functions;  /* struct functiondecl * */
	struct ptrvec globals;    /* struct vardecl * */
	struct ptrvec embeds;     /* struct embedded_block * */
	bool privileged;
	bool synthetic;
	bool used;                /* pulled into the elaborated program */
};

/* Constructors (arena-allocated, zeroed). */
struct expr *new_expr(struct session *s, enum expr_kind kind, struct srcpos pos);
struct stmt *new_stmt(struct session *s, enum stmt_kind kind, struct srcpos pos);

/* Pass 1: parse a source file (already loaded in the session).  Returns
 * NULL only when the file could not be lexed at all; parse errors are
 * counted in s->diag and the parser recovers at the next declaration. */
struct stapfile *parse_file(struct session *s, struct source_file *src);

/* Deep copies (clone.c). */
struct expr *clone_expr(struct session *s, const struct expr *e);
struct stmt *clone_stmt(struct session *s, const struct stmt *st);

/* Canonical printing (pass 1 output; re-parses to the same tree). */
void print_file(struct strbuf *sb, const struct stapfile *f);
void print_expr(struct strbuf *sb, const struct expr *e);
void print_stmt(struct strbuf *sb, const struct stmt *st, int indent);
void print_probe_point(struct strbuf *sb, const struct probe_point *pp);
void print_literal(struct strbuf *sb, const struct literal *l);

#endif
