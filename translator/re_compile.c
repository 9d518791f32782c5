/* Regular expressions of `=~`: POSIX extended syntax compiled at
 * translation time into a program for the runtime's Pike VM
 * (runtime/kernel/regex.h: the instruction set is shared).
 *
 * Syntax: literals, `.`, bracket expressions with ranges, negation and
 * [:class:] names, `^` `$`, groups `( )`, `|`, `* + ?` and `{m}` `{m,}`
 * `{m,n}`; `\` makes the next character literal (and \d \w \s \D \W \S
 * are the usual classes). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "re_compile.h"
#include "util.h"

enum { MAX_REPEAT = 100, MAX_NODES = 4096, MAX_DEPTH = 200 };

enum node_kind { N_CHAR, N_ANY, N_CLASS, N_BOL, N_EOL, N_CAT, N_ALT, N_STAR, N_PLUS,
		 N_QUEST, N_GROUP, N_REPEAT, N_EMPTY };

struct node {
	enum node_kind kind;
	unsigned char ch;
	uint8_t cls[32];
	struct node *a, *b;
	int group, min, max;       /* N_GROUP number; N_REPEAT bounds (max -1: none) */
};

struct rc {
	const char *p, *end;
	struct node *nodes;
	int nnodes, ngroups, depth;
	const char *err;
	struct re_prog *out;
};

static struct node *node(struct rc *r, enum node_kind k)
{
	if (r->nnodes >= MAX_NODES) {
		r->err = "regular expression too complex";
		return NULL;
	}
	struct node *n = &r->nodes[r->nnodes++];
	memset(n, 0, sizeof *n);
	n->kind = k;
	return n;
}

static void set_bit(uint8_t *cls, unsigned c)
{
	cls[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool named_class(const char *name, size_t n, uint8_t *cls)
{
	static const struct { const char *name; int (*fn)(int); } names[] = {
		{ "alpha", isalpha }, { "digit", isdigit }, { "alnum", isalnum }, { "upper", isupper },
		{ "lower", islower }, { "space", isspace }, { "punct", ispunct }, { "xdigit", isxdigit },
		{ "print", isprint }, { "cntrl", iscntrl }, { "graph", isgraph }, { "blank", isblank },
	};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		if (strlen(names[k].name) != n || strncmp(names[k].name, name, n))
			continue;
		for (unsigned c = 1; c < 256; c++)
			if (names[k].fn((int)c))
				set_bit(cls, c);
		return true;
	}
	return false;
}

/* \d \w \s and their negations as classes; false for other letters */
static bool escape_class(char e, uint8_t *cls)
{
	const char *name = e == 'd' || e == 'D' ? "digit" : e == 's' || e == 'S' ? "space"
			 : e == 'w' || e == 'W' ? "alnum" : NULL;
	if (!name)
		return false;
	named_class(name, strlen(name), cls);
	if (e == 'w' || e == 'W')
		set_bit(cls, '_');
	if (isupper((unsigned char)e))
		for (int k = 0; k < 32; k++)
			cls[k] = (uint8_t)~cls[k];
	cls[0] &= (uint8_t)~1u;   /* never NUL */
	return true;
}

static struct node *parse_bracket(struct rc *r)
{
	struct node *n = node(r, N_CLASS);
	if (!n)
		return NULL;
	bool negate = false;
	if (r->p < r->end && *r->p == '^') {
		negate = true;
		r->p++;
	}
	bool first = true;
	while (r->p < r->end && (*r->p != ']' || first)) {
		first = false;
		if (r->p + 1 < r->end && r->p[0] == '[' && r->p[1] == ':') {
			const char *close = strstr(r->p + 2, ":]");
			if (!close || close >= r->end || !named_class(r->p + 2, (size_t)(close - r->p - 2), n->cls)) {
				r->err = "unknown character class name in brackets";
				return NULL;
			}
			r->p = close + 2;
			continue;
		}
		unsigned char lo = (unsigned char)*r->p++;
		if (lo == '\\' && r->p < r->end)
			lo = (unsigned char)*r->p++;
		unsigned char hi = lo;
		if (r->p + 1 < r->end && r->p[0] == '-' && r->p[1] != ']') {
			r->p++;
			hi = (unsigned char)*r->p++;
			if (hi == '\\' && r->p < r->end)
				hi = (unsigned char)*r->p++;
			if (hi < lo) {
				r->err = "invalid range in bracket expression";
				return NULL;
			}
		}
		for (unsigned c = lo; c <= hi; c++)
			set_bit(n->cls, c);
	}
	if (r->p >= r->end) {
		r->err = "unmatched [ in regular expression";
		return NULL;
	}
	r->p++;
	if (negate)
		for (int k = 0; k < 32; k++)
			n->cls[k] = (uint8_t)~n->cls[k];
	n->cls[0] &= (uint8_t)~1u;
	return n;
}

static struct node *parse_alt(struct rc *r);

static struct node *parse_atom(struct rc *r)
{
	char c = *r->p++;
	struct node *n;
	switch (c) {
	case '(': {
		int group = ++r->ngroups;
		if (group >= STP_RE_MAX_GROUPS) {
			r->err = "too many groups in regular expression (limit 9)";
			return NULL;
		}
		if (++r->depth > MAX_DEPTH) {
			r->err = "regular expression nested too deeply";
			return NULL;
		}
		struct node *inner = parse_alt(r);
		r->depth--;
		if (!inner)
			return NULL;
		if (r->p >= r->end || *r->p != ')') {
			r->err = "unmatched ( in regular expression";
			return NULL;
		}
		r->p++;
		n = node(r, N_GROUP);
		if (n) {
			n->a = inner;
			n->group = group;
		}
		return n;
	}
	case '[':
		return parse_bracket(r);
	case '.':
		return node(r, N_ANY);
	case '^':
		return node(r, N_BOL);
	case '$':
		return node(r, N_EOL);
	case '\\':
		if (r->p >= r->end) {
			r->err = "trailing backslash in regular expression";
			return NULL;
		}
		c = *r->p++;
		n = node(r, N_CLASS);
		if (n && escape_class(c, n->cls))
			return n;
		if (n)
			n->kind = N_CHAR;
		break;
	case '*': case '+': case '?':
		r->err = "repetition operator without an operand";
		return NULL;
	default:
		n = node(r, N_CHAR);
		break;
	}
	if (n)
		n->ch = (unsigned char)c;
	return n;
}

static bool parse_count(struct rc *r, int *v)
{
	if (r->p >= r->end || !isdigit((unsigned char)*r->p))
		return false;
	long n = 0;
	while (r->p < r->end && isdigit((unsigned char)*r->p)) {
		n = n * 10 + (*r->p++ - '0');
		if (n > MAX_REPEAT) {
			r->err = "repetition count too large (limit 100)";
			return false;
		}
	}
	*v = (int)n;
	return true;
}

static struct node *parse_repeat(struct rc *r)
{
	struct node *a = parse_atom(r);
	while (a && r->p < r->end && strchr("*+?{", *r->p)) {
		char op = *r->p++;
		struct node *n;
		if (op == '{') {
			n = node(r, N_REPEAT);
			if (!n)
				return NULL;
			if (!parse_count(r, &n->min)) {
				if (!r->err)
					r->err = "invalid repetition count";
				return NULL;
			}
			n->max = n->min;
			if (r->p < r->end && *r->p == ',') {
				r->p++;
				n->max = -1;
				if (r->p < r->end && *r->p != '}' && !parse_count(r, &n->max)) {
					if (!r->err)
						r->err = "invalid repetition count";
					return NULL;
				}
			}
			if (r->p >= r->end || *r->p != '}' || (n->max >= 0 && n->max < n->min)) {
				r->err = "invalid repetition count";
				return NULL;
			}
			r->p++;
		} else {
			n = node(r, op == '*' ? N_STAR : op == '+' ? N_PLUS : N_QUEST);
			if (!n)
				return NULL;
		}
		n->a = a;
		a = n;
	}
	return a;
}

static struct node *parse_concat(struct rc *r)
{
	struct node *left = NULL;
	while (r->p < r->end && *r->p != '|' && *r->p != ')') {
		struct node *n = parse_repeat(r);
		if (!n)
			return NULL;
		if (!left) {
			left = n;
		} else {
			struct node *c = node(r, N_CAT);
			if (!c)
				return NULL;
			c->a = left;
			c->b = n;
			left = c;
		}
	}
	return left ? left : node(r, N_EMPTY);
}

static struct node *parse_alt(struct rc *r)
{
	struct node *left = parse_concat(r);
	while (left && r->p < r->end && *r->p == '|') {
		r->p++;
		struct node *right = parse_concat(r);
		if (!right)
			return NULL;
		struct node *n = node(r, N_ALT);
		if (!n)
			return NULL;
		n->a = left;
		n->b = right;
		left = n;
	}
	return left;
}

/* ---- code ---- */

static int emit(struct rc *r, int op, int arg, int x, int y, const uint8_t *cls)
{
	struct re_prog *p = r->out;
	if (p->n >= STP_RE_MAX_INSTS) {
		r->err = "regular expression too long (limit 512 instructions)";
		return p->n;
	}
	struct re_inst *in = &p->v[p->n];
	in->op = op;
	in->arg = arg;
	in->x = x;
	in->y = y;
	in->has_cls = cls != NULL;
	if (cls)
		memcpy(in->cls, cls, 32);
	return p->n++;
}

static void patch(struct rc *r, int at, int x, int y)
{
	if (at < r->out->n) {
		r->out->v[at].x = x;
		r->out->v[at].y = y;
	}
}

static void gen(struct rc *r, const struct node *n, int depth)
{
	if (r->err || depth > MAX_DEPTH * 4) {
		if (!r->err)
			r->err = "regular expression nested too deeply";
		return;
	}
	switch (n->kind) {
	case N_EMPTY:
		break;
	case N_CHAR:
		emit(r, STP_RE_CHAR, n->ch, 0, 0, NULL);
		break;
	case N_ANY:
		emit(r, STP_RE_ANY, 0, 0, 0, NULL);
		break;
	case N_CLASS:
		emit(r, STP_RE_CLASS, 0, 0, 0, n->cls);
		break;
	case N_BOL:
		emit(r, STP_RE_BOL, 0, 0, 0, NULL);
		break;
	case N_EOL:
		emit(r, STP_RE_EOL, 0, 0, 0, NULL);
		break;
	case N_CAT:
		gen(r, n->a, depth + 1);
		gen(r, n->b, depth + 1);
		break;
	case N_ALT: {
		int split = emit(r, STP_RE_SPLIT, 0, 0, 0, NULL);
		gen(r, n->a, depth + 1);
		int jmp = emit(r, STP_RE_JMP, 0, 0, 0, NULL);
		int second = r->out->n;
		gen(r, n->b, depth + 1);
		patch(r, split, split + 1, second);
		patch(r, jmp, r->out->n, 0);
		break;
	}
	case N_STAR: {
		int split = emit(r, STP_RE_SPLIT, 0, 0, 0, NULL);
		gen(r, n->a, depth + 1);
		emit(r, STP_RE_JMP, 0, split, 0, NULL);
		patch(r, split, split + 1, r->out->n);
		break;
	}
	case N_PLUS: {
		int start = r->out->n;
		gen(r, n->a, depth + 1);
		emit(r, STP_RE_SPLIT, 0, start, r->out->n + 1, NULL);
		break;
	}
	case N_QUEST: {
		int split = emit(r, STP_RE_SPLIT, 0, 0, 0, NULL);
		gen(r, n->a, depth + 1);
		patch(r, split, split + 1, r->out->n);
		break;
	}
	case N_GROUP:
		emit(r, STP_RE_SAVE, 2 * n->group, 0, 0, NULL);
		gen(r, n->a, depth + 1);
		emit(r, STP_RE_SAVE, 2 * n->group + 1, 0, 0, NULL);
		break;
	case N_REPEAT: {
		/* a{m,n}: m copies, then n-m optional ones (or a star) */
		for (int k = 0; k < n->min && !r->err; k++)
			gen(r, n->a, depth + 1);
		if (n->max < 0) {
			struct node star = { .kind = N_STAR, .a = n->a };
			gen(r, &star, depth + 1);
		} else {
			for (int k = n->min; k < n->max && !r->err; k++) {
				struct node q = { .kind = N_QUEST, .a = n->a };
				gen(r, &q, depth + 1);
			}
		}
		break;
	}
	}
}

bool regex_compile(const char *pattern, size_t len, struct re_prog *out, const char **err)
{
	struct rc r = { pattern, pattern + len, NULL, 0, 0, 0, NULL, out };
	r.nodes = xcalloc(MAX_NODES, sizeof *r.nodes);
	out->n = 0;
	out->v = xcalloc(STP_RE_MAX_INSTS, sizeof *out->v);
	struct node *root = parse_alt(&r);
	if (root && !r.err && r.p < r.end)
		r.err = "unmatched ) in regular expression";
	if (root && !r.err) {
		emit(&r, STP_RE_SAVE, 0, 0, 0, NULL);
		gen(&r, root, 0);
		emit(&r, STP_RE_SAVE, 1, 0, 0, NULL);
		emit(&r, STP_RE_MATCH, 0, 0, 0, NULL);
	}
	free(r.nodes);
	out->ngroups = r.ngroups + 1;
	*err = r.err;
	if (r.err) {
		free(out->v);
		out->v = NULL;
		return false;
	}
	return true;
}
