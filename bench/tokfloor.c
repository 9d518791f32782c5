/* tokfloor -- the "read and tokenize C-like text" floor for the benchmark.
 *
 *   tokfloor FILE...
 *
 * Reads each file whole and splits it into tokens the way a C / SystemTap
 * lexer would: identifiers (also $target and @macro names), numbers, string
 * and character literals with escapes, # / // / block comments, and operators
 * (longest match over the multi-character operators of both languages).
 * It builds nothing: no token list, no tree, no symbols.  A real parser can
 * not be faster than this by much, so it is a floor, not a target.
 *
 * Prints "LINES TOKENS CHECKSUM" for all files together.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *ops3[] = {"<<<", "<<=", ">>=", "...", NULL};
static const char *ops2[] = {"==", "!=", "<=", ">=", "&&", "||", "++", "--", "+=", "-=", "*=",
			     "/=", "%=", "&=", "|=", "^=", ".=", "<<", ">>", "->", "%{", "%}",
			     "%(", "%?", "%:", "%)", "=~", "!~", NULL};

static inline int is_id0(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c == '@';
}
static inline int is_id(unsigned char c)
{
	return is_id0(c) || (c >= '0' && c <= '9');
}

int main(int argc, char **argv)
{
	unsigned long lines = 0, tokens = 0, sum = 0;
	for (int a = 1; a < argc; a++) {
		int fd = open(argv[a], O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			perror(argv[a]);
			return 1;
		}
		size_t n = (size_t)st.st_size, got = 0;
		char *b = malloc(n + 1);
		while (got < n) {
			ssize_t r = read(fd, b + got, n - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		close(fd);
		n = got;
		b[n] = 0;
		const char *p = b, *e = b + n;
		while (p < e) {
			unsigned char c = (unsigned char)*p;
			if (c == '\n') {
				lines++;
				p++;
				continue;
			}
			if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
				p++;
				continue;
			}
			if (c == '#' || (c == '/' && p[1] == '/')) {
				while (p < e && *p != '\n')
					p++;
				continue;
			}
			if (c == '/' && p[1] == '*') {
				p += 2;
				while (p < e && !(p[0] == '*' && p[1] == '/')) {
					if (*p == '\n')
						lines++;
					p++;
				}
				p += 2;
				continue;
			}
			const char *s = p;
			int kind;
			if (is_id0(c)) {
				while (p < e && is_id((unsigned char)*p))
					p++;
				kind = 1;
			} else if (c >= '0' && c <= '9') {
				while (p < e && (is_id((unsigned char)*p)))
					p++;
				kind = 2;
			} else if (c == '"' || c == '\'') {
				p++;
				while (p < e && *p != (char)c) {
					if (*p == '\\' && p + 1 < e)
						p++;
					else if (*p == '\n')
						lines++;
					p++;
				}
				p++;
				kind = 3;
			} else {
				kind = 4;
				int len = 1;
				for (int k = 0; ops3[k]; k++)
					if (!memcmp(p, ops3[k], 3)) {
						len = 3;
						break;
					}
				if (len == 1)
					for (int k = 0; ops2[k]; k++)
						if (p[0] == ops2[k][0] && p[1] == ops2[k][1]) {
							len = 2;
							break;
						}
				p += len;
			}
			tokens++;
			sum = sum * 31 + (unsigned long)kind * 7 + (unsigned long)(p - s);
		}
		free(b);
	}
	printf("%lu %lu %lu\n", lines, tokens, sum);
	return 0;
}
