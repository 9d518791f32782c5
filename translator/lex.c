/* Lexer: bytes of one source file -> tokens.
 *
 * Script arguments are substituted here, as in SystemTap: at the start of a
 * token `$N` re-lexes the text of argument N in place, `@N` becomes a string
 * literal, `$#`/`@#` the argument count.  Comments are whitespace; whether a
 * token touched the previous one is recorded for probe-point globbing. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "token.h"
#include "util.h"

void tv_push(struct tokvec *tv, struct token *t)
{
	if (tv->n == tv->cap) {
		tv->cap = tv->cap ? tv->cap * 2 : 256;
		tv->v = xrealloc(tv->v, tv->cap * sizeof *tv->v);
	}
	tv->v[tv->n++] = t;
}

void tv_free(struct tokvec *tv)
{
	free(tv->v);
	tv->v = NULL;
	tv->n = tv->cap = 0;
}

static const char *const keywords[] = {
	"probe", "global", "private", "function", "if", "else", "for",
	"foreach", "in", "limit", "return", "delete", "while", "break",
	"continue", "next", "string", "long", "try", "catch", NULL,
};

/* Longest first within each length class. */
static const char *const operators[] = {
	"<<<", ">>>", "<<=", ">>=",
	"==", "!=", "<=", ">=", "=~", "!~", "+=", "-=", "*=", "/=", "%=",
	"&=", "^=", "|=", ".=", "&&", "||", "++", "--", "->", "<<", ">>",
	"%(", "%?", "%:", "%)",
	"{", "}", "(", ")", "[", "]", ",", ";", ":", "?", ".", "+", "-",
	"*", "/", "%", "&", "|", "^", "~", "!", "=", "<", ">", "$", NULL,
};

struct lexer {
	struct session *s;
	const struct source_file *file;
	const char *text;      /* input being read (file or argument text) */
	size_t len, i;
	int line, col;
	bool in_arg;           /* reading a pasted $N argument */
	struct srcpos arg_pos; /* where the $N was, for pasted tokens */
	struct tokvec *out;
};

static int peekc(struct lexer *lx, size_t ahead)
{
	size_t j = lx->i + ahead;
	return j < lx->len ? (unsigned char)lx->text[j] : -1;
}

static int nextc(struct lexer *lx)
{
	if (lx->i >= lx->len)
		return -1;
	int c = (unsigned char)lx->text[lx->i++];
	if (c == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	return c;
}

static struct srcpos here(struct lexer *lx)
{
	if (lx->in_arg)
		return lx->arg_pos;
	struct srcpos p = { lx->file, lx->line, lx->col };
	return p;
}

static struct token *emit(struct lexer *lx, enum tok_type type, const char *text,
			  size_t len, struct srcpos pos, bool space)
{
	struct token *t = arena_alloc(&lx->s->arena, sizeof *t);
	t->type = type;
	/* operators point at the static table; everything else is copied */
	t->text = type == TOK_OP ? text : arena_strndup(&lx->s->arena, text, len);
	t->len = len;
	t->pos = pos;
	t->space_before = space;
	t->from_arg = lx->in_arg;
	tv_push(lx->out, t);
	return t;
}

static void lex_error(struct lexer *lx, struct srcpos pos, const char *msg)
{
	diag_report(&lx->s->diag, DIAG_PARSE, pos, NULL, "%s", msg);
}

static bool ident_start(int c)
{
	return isalpha(c) || c == '_' || c == '$' || c == '@';
}

static bool ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '$';
}

/* Skip whitespace and comments; true if anything was skipped. */
static bool skip_space(struct lexer *lx)
{
	bool skipped = false;
	for (;;) {
		int c = peekc(lx, 0);
		if (c >= 0 && isspace(c)) {
			nextc(lx);
		} else if (c == '#') {
			while ((c = peekc(lx, 0)) >= 0 && c != '\n')
				nextc(lx);
		} else if (c == '/' && peekc(lx, 1) == '/') {
			while ((c = peekc(lx, 0)) >= 0 && c != '\n')
				nextc(lx);
		} else if (c == '/' && peekc(lx, 1) == '*') {
			struct srcpos start = here(lx);
			nextc(lx);
			nextc(lx);
			for (;;) {
				c = nextc(lx);
				if (c < 0) {
					lex_error(lx, start, "Could not find matching closing '*/' of comment");
					return true;
				}
				if (c == '*' && peekc(lx, 0) == '/') {
					nextc(lx);
					break;
				}
			}
		} else {
			return skipped;
		}
		skipped = true;
	}
}

static void lex_string(struct lexer *lx, struct srcpos pos, bool space)
{
	struct strbuf sb;
	sb_init(&sb);
	nextc(lx); /* opening quote */
	for (;;) {
		int c = nextc(lx);
		if (c < 0 || c == '\n') {
			lex_error(lx, pos, "Could not find matching closing quote");
			break;
		}
		if (c == '"')
			break;
		if (c != '\\') {
			sb_putc(&sb, (char)c);
			continue;
		}
		c = nextc(lx);
		switch (c) {
		case 'a': sb_putc(&sb, '\a'); break;
		case 'b': sb_putc(&sb, '\b'); break;
		case 'f': sb_putc(&sb, '\f'); break;
		case 'n': sb_putc(&sb, '\n'); break;
		case 'r': sb_putc(&sb, '\r'); break;
		case 't': sb_putc(&sb, '\t'); break;
		case 'v': sb_putc(&sb, '\v'); break;
		case 'x': {
			int v = 0, n = 0;
			while (n < 2 && isxdigit(peekc(lx, 0))) {
				int d = nextc(lx);
				v = v * 16 + (isdigit(d) ? d - '0' : tolower(d) - 'a' + 10);
				n++;
			}
			if (n == 0)
				sb_putc(&sb, 'x');
			else
				sb_putc(&sb, (char)v);
			break;
		}
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7': {
			int v = c - '0', n = 1;
			while (n < 3 && peekc(lx, 0) >= '0' && peekc(lx, 0) <= '7') {
				v = v * 8 + (nextc(lx) - '0');
				n++;
			}
			sb_putc(&sb, (char)v);
			break;
		}
		case -1:
		case '\n':
			lex_error(lx, pos, "Could not find matching closing quote");
			goto done;
		default:
			/* unknown escape: the backslash is dropped */
			sb_putc(&sb, (char)c);
			break;
		}
	}
done:
	emit(lx, TOK_STRING, sb.s, sb.len, pos, space);
	sb_free(&sb);
}

static void lex_embedded(struct lexer *lx, struct srcpos pos, bool space)
{
	nextc(lx);
	nextc(lx); /* %{ */
	size_t start = lx->i;
	for (;;) {
		int c = peekc(lx, 0);
		if (c < 0) {
			lex_error(lx, pos, "Could not find matching '%}' to close embedded function block");
			emit(lx, TOK_EMBEDDED, lx->text + start, lx->i - start, pos, space);
			return;
		}
		if (c == '%' && peekc(lx, 1) == '}') {
			emit(lx, TOK_EMBEDDED, lx->text + start, lx->i - start, pos, space);
			nextc(lx);
			nextc(lx);
			return;
		}
		nextc(lx);
	}
}

static void lex_text(struct lexer *lx);

/* $N, $#, @N, @#: paste an argument.  Returns false if this is not one. */
static bool lex_argument(struct lexer *lx, struct srcpos pos, bool space)
{
	int sigil = peekc(lx, 0);
	int c = peekc(lx, 1);
	if (c != '#' && !isdigit(c))
		return false;
	if (lx->in_arg) {
		lex_error(lx, pos, "invalid nested substitution of command line arguments");
		nextc(lx);
		nextc(lx);
		while (isdigit(peekc(lx, 0)))
			nextc(lx);
		return true;
	}
	nextc(lx);
	const char *value;
	char count[32];
	if (c == '#') {
		nextc(lx);
		snprintf(count, sizeof count, "%d", lx->s->nargs);
		value = count;
	} else {
		long n = 0;
		while (isdigit(peekc(lx, 0))) {
			if (n < 1000000)
				n = n * 10 + (nextc(lx) - '0');
			else
				nextc(lx);
		}
		if (n < 1 || n > lx->s->nargs) {
			char msg[96];
			snprintf(msg, sizeof msg, "command line argument out of range [1-%d]",
				 lx->s->nargs);
			emit(lx, TOK_BADARG, msg, strlen(msg), pos, space);
			return true;
		}
		value = lx->s->args[n - 1];
	}
	if (sigil == '@') {
		emit(lx, TOK_STRING, value, strlen(value), pos, space);
		return true;
	}
	/* $N: lex the argument text where the reference stood */
	struct lexer sub = *lx;
	sub.text = value;
	sub.len = strlen(value);
	sub.i = 0;
	sub.in_arg = true;
	sub.arg_pos = pos;
	size_t first = lx->out->n;
	lex_text(&sub);
	if (lx->out->n > first)
		lx->out->v[first]->space_before = space;
	return true;
}

static void lex_one(struct lexer *lx, bool space)
{
	struct srcpos pos = here(lx);
	int c = peekc(lx, 0);

	if ((c == '$' || c == '@') && lex_argument(lx, pos, space))
		return;
	if (c == '"') {
		lex_string(lx, pos, space);
		return;
	}
	if (c == '%' && peekc(lx, 1) == '{') {
		lex_embedded(lx, pos, space);
		return;
	}
	if (isdigit(c)) {
		size_t start = lx->i;
		while (isalnum(peekc(lx, 0)))
			nextc(lx);
		emit(lx, TOK_NUMBER, lx->text + start, lx->i - start, pos, space);
		return;
	}
	if (ident_start(c) && !(c == '$' && !ident_char(peekc(lx, 1)) && peekc(lx, 1) != '$')) {
		size_t start = lx->i;
		nextc(lx);
		while (ident_char(peekc(lx, 0)))
			nextc(lx);
		size_t n = lx->i - start;
		const char *w = lx->text + start;
		enum tok_type type = TOK_IDENT;
		if (c == '@') {
			type = TOK_ATWORD;
		} else if (n >= 2 && n <= 8 && islower((unsigned char)w[0])) {
			for (const char *const *k = keywords; *k; k++)
				if ((*k)[0] == w[0] && strlen(*k) == n && memcmp(*k, w, n) == 0)
					type = TOK_KEYWORD;
		}
		if (c == '@' && n == 1) {
			lex_error(lx, pos, "'@' must be followed by a name");
			return;
		}
		emit(lx, type, w, n, pos, space);
		return;
	}
	for (const char *const *op = operators; *op; op++) {
		if ((*op)[0] != c)
			continue;
		size_t n = strlen(*op);
		if (lx->i + n <= lx->len && memcmp(lx->text + lx->i, *op, n) == 0) {
			for (size_t k = 0; k < n; k++)
				nextc(lx);
			emit(lx, TOK_OP, *op, n, pos, space);
			return;
		}
	}
	char msg[64];
	if (isprint(c))
		snprintf(msg, sizeof msg, "unexpected character '%c'", c);
	else
		snprintf(msg, sizeof msg, "unexpected byte 0x%02x", c);
	lex_error(lx, pos, msg);
	nextc(lx);
}

static void lex_text(struct lexer *lx)
{
	bool space = true;
	for (;;) {
		space = skip_space(lx) || space;
		if (lx->i >= lx->len)
			return;
		lex_one(lx, space);
		space = false;
	}
}

void lex_file(struct session *s, const struct source_file *f, struct tokvec *out)
{
	struct lexer lx = {
		.s = s, .file = f, .text = f->text, .len = f->len,
		.line = 1, .col = 1, .out = out,
	};
	lex_text(&lx);
	struct srcpos end = { f, lx.line, lx.col };
	struct token *eof = arena_alloc(&s->arena, sizeof *eof);
	eof->type = TOK_EOF;
	eof->text = "";
	eof->pos = end;
	eof->space_before = true;
	tv_push(out, eof);
}

bool tok_is(const struct token *t, enum tok_type type, const char *text)
{
	return t->type == type && strcmp(t->text, text) == 0;
}

bool tok_op(const struct token *t, const char *op)
{
	return t->type == TOK_OP && strcmp(t->text, op) == 0;
}

bool tok_kw(const struct token *t, const char *kw)
{
	return t->type == TOK_KEYWORD && strcmp(t->text, kw) == 0;
}

bool tok_op_in(const struct token *t, const char *const *ops)
{
	if (t->type != TOK_OP)
		return false;
	for (const char *const *o = ops; *o; o++)
		if (!strcmp(t->text, *o))
			return true;
	return false;
}

bool tok_is_relop(const struct token *t)
{
	static const char *const relops[] = { "<", "<=", ">", ">=", "==", "!=", NULL };
	return tok_op_in(t, relops);
}

void quote_string(struct strbuf *sb, const char *s, size_t len)
{
	sb_putc(sb, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': sb_puts(sb, "\\\""); break;
		case '\\': sb_puts(sb, "\\\\"); break;
		case '\n': sb_puts(sb, "\\n"); break;
		case '\t': sb_puts(sb, "\\t"); break;
		case '\r': sb_puts(sb, "\\r"); break;
		case '\a': sb_puts(sb, "\\a"); break;
		case '\b': sb_puts(sb, "\\b"); break;
		case '\f': sb_puts(sb, "\\f"); break;
		case '\v': sb_puts(sb, "\\v"); break;
		default:
			if (c < 0x20 || c >= 0x7f)
				sb_printf(sb, "\\%03o", c);
			else
				sb_putc(sb, (char)c);
		}
	}
	sb_putc(sb, '"');
}

const char *tok_describe(struct session *s, const struct token *t)
{
	switch (t->type) {
	case TOK_EOF:
		return "end of input";
	case TOK_IDENT:
		return arena_printf(&s->arena, "identifier '%s'", t->text);
	case TOK_KEYWORD:
		return arena_printf(&s->arena, "keyword '%s'", t->text);
	case TOK_ATWORD:
	case TOK_OP:
		return arena_printf(&s->arena, "operator '%s'", t->text);
	case TOK_NUMBER:
		return arena_printf(&s->arena, "number '%s'", t->text);
	case TOK_STRING: {
		struct strbuf sb;
		sb_init(&sb);
		sb_puts(&sb, "string ");
		quote_string(&sb, t->text, t->len > 40 ? 40 : t->len);
		char *r = arena_strdup(&s->arena, sb.s);
		sb_free(&sb);
		return r;
	}
	case TOK_EMBEDDED:
		return "embedded-code";
	case TOK_BADARG:
		return "command line argument";
	}
	return "token";
}
