/* Lexer: operators, keywords, identifiers, literals, comments, positions,
 * command-line argument substitution and lexical errors. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

static void setup_th(struct th *t)
{
	th_init(t);
}

/* Token texts joined by single spaces (EOF left out). */
static const char *texts(struct th *t, const char *src)
{
	struct tokvec v = {0};
	th_lex(t, src, &v);
	struct strbuf sb;
	sb_init(&sb);
	for (size_t k = 0; k + 1 < v.n; k++) {
		if (k)
			sb_putc(&sb, ' ');
		sb_puts(&sb, v.v[k]->text);
	}
	const char *r = arena_strdup(&t->s.arena, sb.s);
	sb_free(&sb);
	tv_free(&v);
	return r;
}

static void test_every_operator(void **state)
{
	(void)state;
	static const char *const ops[] = {
		"<<<", ">>>", "<<=", ">>=", "==", "!=", "<=", ">=", "=~", "!~", "+=",
		"-=", "*=", "/=", "%=", "&=", "^=", "|=", ".=", "&&", "||", "++", "--",
		"->", "<<", ">>", "%(", "%?", "%:", "%)", "{", "}", "(", ")", "[", "]",
		",", ";", ":", "?", ".", "+", "-", "*", "/", "%", "&", "|", "^", "~",
		"!", "=", "<", ">", "$", NULL,
	};
	struct th t;
	setup_th(&t);
	for (const char *const *op = ops; *op; op++) {
		struct tokvec v = {0};
		th_lex(&t, *op, &v);
		assert_int_equal(v.n, 2);
		assert_int_equal(v.v[0]->type, TOK_OP);
		assert_string_equal(v.v[0]->text, *op);
		assert_int_equal(v.v[1]->type, TOK_EOF);
		tv_free(&v);
	}
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_longest_match(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	assert_string_equal(texts(&t, "a<<<=b"), "a <<< = b");
	assert_string_equal(texts(&t, "a>>>=b"), "a >>> = b");
	assert_string_equal(texts(&t, "a<<=b>>=c"), "a <<= b >>= c");
	assert_string_equal(texts(&t, "x---y"), "x -- - y");
	assert_string_equal(texts(&t, "a->b"), "a -> b");
	assert_string_equal(texts(&t, "s!~\"x\""), "s !~ x");
	assert_string_equal(texts(&t, "%(%?%:%)"), "%( %? %: %)");
	assert_string_equal(texts(&t, "a.=b"), "a .= b");
	th_free(&t);
}

static void test_keywords(void **state)
{
	(void)state;
	static const char *const kws[] = {
		"probe", "global", "private", "function", "if", "else", "for",
		"foreach", "in", "limit", "return", "delete", "while", "break",
		"continue", "next", "string", "long", "try", "catch", NULL,
	};
	struct th t;
	setup_th(&t);
	for (const char *const *k = kws; *k; k++) {
		struct tokvec v = {0};
		th_lex(&t, *k, &v);
		assert_int_equal(v.v[0]->type, TOK_KEYWORD);
		assert_string_equal(v.v[0]->text, *k);
		tv_free(&v);
	}
	/* near misses are identifiers */
	static const char *const idents[] = { "probes", "If", "_in", "long2", "nextx", NULL };
	for (const char *const *k = idents; *k; k++) {
		struct tokvec v = {0};
		th_lex(&t, *k, &v);
		assert_int_equal(v.v[0]->type, TOK_IDENT);
		tv_free(&v);
	}
	th_free(&t);
}

static void test_identifiers_dollar_at(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "$foo $$vars foo$ a_1$b @cast @my_macro _x9", &v);
	assert_int_equal(v.n, 8);
	enum tok_type want[] = { TOK_IDENT, TOK_IDENT, TOK_IDENT, TOK_IDENT, TOK_ATWORD,
				 TOK_ATWORD, TOK_IDENT };
	const char *text[] = { "$foo", "$$vars", "foo$", "a_1$b", "@cast", "@my_macro", "_x9" };
	for (int k = 0; k < 7; k++) {
		assert_int_equal(v.v[k]->type, want[k]);
		assert_string_equal(v.v[k]->text, text[k]);
	}
	tv_free(&v);
	/* a lone '$' is an operator (pretty-print suffix after ']') */
	th_lex(&t, "$ x", &v);
	assert_int_equal(v.v[0]->type, TOK_OP);
	assert_string_equal(v.v[0]->text, "$");
	tv_free(&v);
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_lone_at_is_error(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "x @ y", &v);
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "'@' must be followed by a name");
	assert_diag(&t, "<test>:1:3");
	tv_free(&v);
	th_free(&t);
}

static void test_numbers_lexed(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "0 123 0x1F 0X1f 017 08 12abc", &v);
	assert_int_equal(v.n, 8);
	const char *text[] = { "0", "123", "0x1F", "0X1f", "017", "08", "12abc" };
	for (int k = 0; k < 7; k++) {
		assert_int_equal(v.v[k]->type, TOK_NUMBER);
		assert_string_equal(v.v[k]->text, text[k]);
	}
	tv_free(&v);
	th_free(&t);
}

static void test_number_values(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	assert_string_equal(th_expr(&t, "x = 0x1F"), "x = 31");
	assert_string_equal(th_expr(&t, "x = 017"), "x = 15");
	assert_string_equal(th_expr(&t, "x = 0"), "x = 0");
	assert_string_equal(th_expr(&t, "x = 18446744073709551615"), "x = 18446744073709551615");
	assert_int_equal(th_errors(&t), 0);
	assert_null(th_expr(&t, "x = 08"));
	assert_diag(&t, "number invalid or out of range");
	assert_null(th_expr(&t, "x = 12abc"));
	th_free(&t);
}

static void test_number_out_of_range(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	assert_null(th_expr(&t, "x = 18446744073709551616"));
	assert_diag(&t, "number invalid or out of range");
	th_free(&t);
}

static void test_string_escapes(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\"", &v);
	assert_int_equal(v.v[0]->type, TOK_STRING);
	assert_int_equal(v.v[0]->len, 9);
	assert_memory_equal(v.v[0]->text, "\a\b\f\n\r\t\v\\\"", 9);
	tv_free(&v);
	th_free(&t);
}

static void test_string_octal_hex_unknown(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	/* \101 = 'A', \x42 = 'B', \x4 then 'z', \q -> q, \x alone -> x, \0 -> NUL, \1234 -> 'S' '4' */
	th_lex(&t, "\"\\101\\x42\\x4z\\q\\x\\0\\1234\"", &v);
	assert_int_equal(v.v[0]->type, TOK_STRING);
	const char want[] = "AB\x04zqx\0S4";
	assert_int_equal(v.v[0]->len, sizeof want - 1);
	assert_memory_equal(v.v[0]->text, want, sizeof want - 1);
	tv_free(&v);
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_unterminated_string(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "probe begin {\n  x = \"abc\n}", &v);
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "Could not find matching closing quote");
	assert_diag(&t, "<test>:2:7");
	tv_free(&v);
	th_free(&t);

	setup_th(&t);
	th_lex(&t, "x = \"abc\\", &v);   /* backslash then EOF */
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "Could not find matching closing quote");
	assert_diag(&t, "<test>:1:5");
	tv_free(&v);
	th_free(&t);
}

static void test_unterminated_comment(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "x\n  y /* never\nclosed", &v);
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "Could not find matching closing '*/' of comment");
	assert_diag(&t, "<test>:2:5");
	tv_free(&v);
	th_free(&t);
}

static void test_unterminated_embedded(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "\n\n   %{ int x; } % }", &v);
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "Could not find matching '%}'");
	assert_diag(&t, "<test>:3:4");
	tv_free(&v);
	th_free(&t);
}

static void test_embedded_token(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "%{ int x = a % b; /* } */ %} y", &v);
	assert_int_equal(v.v[0]->type, TOK_EMBEDDED);
	assert_string_equal(v.v[0]->text, " int x = a % b; /* } */ ");
	assert_int_equal(v.v[1]->type, TOK_IDENT);
	assert_int_equal(th_errors(&t), 0);
	tv_free(&v);
	th_free(&t);
}

static void test_comments_are_space(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	assert_string_equal(texts(&t, "#!/usr/bin/stap\na # c\nb // d\nc /* e\n f */ d"), "a b c d");
	struct tokvec v = {0};
	th_lex(&t, "a/**/b c", &v);
	assert_int_equal(v.n, 4);
	assert_true(v.v[0]->space_before);   /* start of file counts as space */
	assert_true(v.v[1]->space_before);   /* a comment separates */
	assert_true(v.v[2]->space_before);
	tv_free(&v);
	th_free(&t);
}

static void test_space_before(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "sys*_open x .y", &v);
	/* sys * _open x . y EOF */
	assert_int_equal(v.n, 7);
	assert_false(v.v[1]->space_before);
	assert_false(v.v[2]->space_before);
	assert_true(v.v[3]->space_before);
	assert_true(v.v[4]->space_before);
	assert_false(v.v[5]->space_before);
	tv_free(&v);
	th_free(&t);
}

static void test_positions(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "probe begin\n{\n\tx = 10 # c\n  \"s\"}", &v);
	struct { const char *text; int line, col; } want[] = {
		{ "probe", 1, 1 }, { "begin", 1, 7 }, { "{", 2, 1 }, { "x", 3, 2 },
		{ "=", 3, 4 }, { "10", 3, 6 }, { "s", 4, 3 }, { "}", 4, 6 },
	};
	assert_int_equal(v.n, 9);
	for (int k = 0; k < 8; k++) {
		assert_string_equal(v.v[k]->text, want[k].text);
		assert_int_equal(v.v[k]->pos.line, want[k].line);
		assert_int_equal(v.v[k]->pos.col, want[k].col);
	}
	assert_int_equal(v.v[8]->type, TOK_EOF);
	assert_int_equal(v.v[8]->pos.line, 4);
	tv_free(&v);
	th_free(&t);
}

static void test_unexpected_character(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "a\n `b", &v);
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "unexpected character '`'");
	assert_diag(&t, "<test>:2:2");
	tv_free(&v);
	th_lex(&t, "a \x01 b", &v);
	assert_diag(&t, "unexpected byte 0x01");
	tv_free(&v);
	th_free(&t);
}

/* ---- command-line arguments ---- */

static char *args2[] = { "5+5", "hello world", NULL };

static void test_dollar_arg_relexed(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	t.s.args = args2;
	t.s.nargs = 2;
	struct tokvec v = {0};
	th_lex(&t, "x =\n  $1;", &v);
	/* x = 5 + 5 ; EOF */
	assert_int_equal(v.n, 7);
	assert_string_equal(v.v[2]->text, "5");
	assert_string_equal(v.v[3]->text, "+");
	assert_string_equal(v.v[4]->text, "5");
	for (int k = 2; k <= 4; k++) {
		assert_true(v.v[k]->from_arg);
		assert_int_equal(v.v[k]->pos.line, 2);
		assert_int_equal(v.v[k]->pos.col, 3);
	}
	assert_true(v.v[2]->space_before);
	assert_false(v.v[5]->from_arg);
	tv_free(&v);
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_at_arg_is_string(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	t.s.args = args2;
	t.s.nargs = 2;
	struct tokvec v = {0};
	th_lex(&t, "@2 @1", &v);
	assert_int_equal(v.v[0]->type, TOK_STRING);
	assert_string_equal(v.v[0]->text, "hello world");
	assert_int_equal(v.v[1]->type, TOK_STRING);
	assert_string_equal(v.v[1]->text, "5+5");
	tv_free(&v);
	th_free(&t);
}

static void test_arg_count(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	t.s.args = args2;
	t.s.nargs = 2;
	struct tokvec v = {0};
	th_lex(&t, "$# @# x#comment", &v);
	assert_int_equal(v.n, 4);
	assert_int_equal(v.v[0]->type, TOK_NUMBER);
	assert_string_equal(v.v[0]->text, "2");
	assert_int_equal(v.v[1]->type, TOK_STRING);
	assert_string_equal(v.v[1]->text, "2");
	assert_string_equal(v.v[2]->text, "x");
	tv_free(&v);
	th_free(&t);
}

static void test_arg_out_of_range_is_error(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	t.s.args = args2;
	t.s.nargs = 2;
	struct tokvec v = {0};
	th_lex(&t, "$3", &v);
	assert_int_equal(v.v[0]->type, TOK_BADARG);
	assert_int_equal(th_errors(&t), 0);   /* not yet: conditionals decide */
	tv_free(&v);
	assert_null(th_print(&t, "probe begin { x = $3 }"));
	assert_diag(&t, "command line argument out of range [1-2]");
	th_free(&t);

	setup_th(&t);
	assert_null(th_print(&t, "probe begin { x = @1 }"));
	assert_diag(&t, "command line argument out of range [1-0]");
	assert_int_equal(th_errors(&t), 1);
	th_free(&t);
}

static void test_arg_out_of_range_dropped(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	t.s.args = args2;
	t.s.nargs = 1;
	const char *p = th_print(&t, "probe begin { x = %( $# >= 2 %? @2 %: \"none\" %) }");
	assert_non_null(p);
	assert_contains(p, "x = \"none\"");
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_arg_zero_out_of_range(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	t.s.args = args2;
	t.s.nargs = 2;
	assert_null(th_print(&t, "probe begin { x = $0 }"));
	assert_diag(&t, "command line argument out of range [1-2]");
	th_free(&t);
}

static void test_nested_substitution(void **state)
{
	(void)state;
	static char *args[] = { "$2", "7", NULL };
	struct th t;
	setup_th(&t);
	t.s.args = args;
	t.s.nargs = 2;
	struct tokvec v = {0};
	th_lex(&t, "x = $1", &v);
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "invalid nested substitution of command line arguments");
	tv_free(&v);
	th_free(&t);
}

static void test_arg_in_condition(void **state)
{
	(void)state;
	static char *args[] = { "3", NULL };
	struct th t;
	setup_th(&t);
	t.s.args = args;
	t.s.nargs = 1;
	assert_string_equal(th_pp_text(&t, "%( $1 > 2 %? big %: small %)"), "big");
	assert_string_equal(th_pp_text(&t, "%( @1 == \"3\" %? yes %: no %)"), "yes");
	th_free(&t);
}

/* ---- tok_describe / quote_string ---- */

static void test_tok_describe(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "foo if @cast { 42 \"a\\nb\" %{ c %}", &v);
	assert_string_equal(tok_describe(&t.s, v.v[0]), "identifier 'foo'");
	assert_string_equal(tok_describe(&t.s, v.v[1]), "keyword 'if'");
	assert_string_equal(tok_describe(&t.s, v.v[2]), "operator '@cast'");
	assert_string_equal(tok_describe(&t.s, v.v[3]), "operator '{'");
	assert_string_equal(tok_describe(&t.s, v.v[4]), "number '42'");
	assert_string_equal(tok_describe(&t.s, v.v[5]), "string \"a\\nb\"");
	assert_string_equal(tok_describe(&t.s, v.v[6]), "embedded-code");
	assert_string_equal(tok_describe(&t.s, v.v[7]), "end of input");
	tv_free(&v);
	th_free(&t);
}

static void test_tok_describe_long_string(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	struct tokvec v = {0};
	th_lex(&t, "\"0123456789012345678901234567890123456789TAIL\"", &v);
	const char *d = tok_describe(&t.s, v.v[0]);
	assert_null(strstr(d, "TAIL"));
	assert_string_equal(d, "string \"0123456789012345678901234567890123456789\"");
	tv_free(&v);
	th_free(&t);
}

static void test_quote_string(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	const char in[] = "a\"b\\c\n\t\r\a\b\f\v\x01\x7f\xff\0z";
	quote_string(&sb, in, sizeof in - 1);
	assert_string_equal(sb.s, "\"a\\\"b\\\\c\\n\\t\\r\\a\\b\\f\\v\\001\\177\\377\\000z\"");
	sb_free(&sb);
}

static void test_quote_string_relexes(void **state)
{
	(void)state;
	struct th t;
	setup_th(&t);
	const char in[] = "x\"\\\n\x01\xc3\xa9 %s";
	struct strbuf sb;
	sb_init(&sb);
	quote_string(&sb, in, sizeof in - 1);
	struct tokvec v = {0};
	th_lex(&t, sb.s, &v);
	assert_int_equal(v.v[0]->type, TOK_STRING);
	assert_int_equal(v.v[0]->len, sizeof in - 1);
	assert_memory_equal(v.v[0]->text, in, sizeof in - 1);
	tv_free(&v);
	sb_free(&sb);
	th_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_operator),
		cmocka_unit_test(test_longest_match),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_identifiers_dollar_at),
		cmocka_unit_test(test_lone_at_is_error),
		cmocka_unit_test(test_numbers_lexed),
		cmocka_unit_test(test_number_values),
		cmocka_unit_test(test_number_out_of_range),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_octal_hex_unknown),
		cmocka_unit_test(test_unterminated_string),
		cmocka_unit_test(test_unterminated_comment),
		cmocka_unit_test(test_unterminated_embedded),
		cmocka_unit_test(test_embedded_token),
		cmocka_unit_test(test_comments_are_space),
		cmocka_unit_test(test_space_before),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_unexpected_character),
		cmocka_unit_test(test_dollar_arg_relexed),
		cmocka_unit_test(test_at_arg_is_string),
		cmocka_unit_test(test_arg_count),
		cmocka_unit_test(test_arg_out_of_range_is_error),
		cmocka_unit_test(test_arg_out_of_range_dropped),
		cmocka_unit_test(test_arg_zero_out_of_range),
		cmocka_unit_test(test_nested_substitution),
		cmocka_unit_test(test_arg_in_condition),
		cmocka_unit_test(test_tok_describe),
		cmocka_unit_test(test_tok_describe_long_string),
		cmocka_unit_test(test_quote_string),
		cmocka_unit_test(test_quote_string_relexes),
	};
	return cmocka_run_group_tests_name("lex", tests, NULL, NULL);
}
