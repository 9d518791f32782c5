/* Tokens and the lexer.  A file is lexed into a token vector before the
 * preprocessor (macros, conditionals) and the parser see it. */
#ifndef STAP_TOKEN_H
#define STAP_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

struct session;

enum tok_type {
	TOK_EOF,
	TOK_IDENT,     /* foo, $foo, $$vars */
	TOK_KEYWORD,   /* if, probe, ... */
	TOK_ATWORD,    /* @cast, @count, @MACRO, @macro_param */
	TOK_NUMBER,    /* text as written; parsed by the parser */
	TOK_STRING,    /* text = decoded bytes, len may include NULs */
	TOK_OP,        /* punctuation and operators, incl. %( %? %: %) */
	TOK_EMBEDDED,  /* %{ ... %}: text = the code between the braces */
	TOK_BADARG,    /* $N/@N out of range: text = the message.  An error only
	                  if it survives the conditionals, as in SystemTap */
};

struct token {
	enum tok_type type;
	const char *text;     /* arena, NUL-terminated */
	size_t len;
	struct srcpos pos;
	bool space_before;    /* whitespace or a comment preceded it */
	bool from_arg;        /* pasted from a $N argument */
};

struct tokvec {
	struct token **v;
	size_t n, cap;
};
void tv_push(struct tokvec *tv, struct token *t);
void tv_free(struct tokvec *tv);

/* Lex a whole file.  Lexical errors are reported to s->diag; the vector
 * always ends with a TOK_EOF token. */
void lex_file(struct session *s, const struct source_file *f, struct tokvec *out);

bool tok_is(const struct token *t, enum tok_type type, const char *text);
bool tok_op(const struct token *t, const char *op);
bool tok_kw(const struct token *t, const char *kw);
/* Is t one of the operators in the NULL-terminated list? */
bool tok_op_in(const struct token *t, const char *const *ops);
/* < <= > >= == != */
bool tok_is_relop(const struct token *t);

/* "identifier 'x'", "operator '{'", "string \"abc\"" ...; arena string. */
const char *tok_describe(struct session *s, const struct token *t);

/* Quote bytes as a stap string literal (with escapes) into a strbuf. */
struct strbuf;
void quote_string(struct strbuf *sb, const char *s, size_t len);

#endif
