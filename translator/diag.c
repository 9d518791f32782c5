#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct diag_held {
	struct srcpos pos;
	size_t order;
	char *text;
};

void diag_hold(struct diag *d)
{
	d->holding = true;
}

static int cmp_held(const void *a, const void *b)
{
	const struct diag_held *x = a, *y = b;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void diag_release(struct diag *d)
{
	if (d->nheld)
		qsort(d->held, d->nheld, sizeof *d->held, cmp_held);
	for (size_t k = 0; k < d->nheld; k++) {
		fputs(d->held[k].text, d->out);
		free(d->held[k].text);
	}
	free(d->held);
	d->held = NULL;
	d->nheld = d->capheld = 0;
	d->holding = false;
}

void diag_init(struct diag *d, FILE *out)
{
	memset(d, 0, sizeof *d);
	d->out = out;
}

int diag_errors(const struct diag *d)
{
	return d->parse_errors + d->semantic_errors;
}

/* Print the source line holding pos, then a caret under its column.
 * Tabs are kept so the caret lines up in a terminal. */
void diag_show_source(FILE *out, struct srcpos pos, int indent)
{
	if (!pos.file || pos.line <= 0)
		return;
	const char *p = pos.file->text;
	const char *end = p + pos.file->len;
	for (int line = 1; line < pos.line && p < end; p++)
		if (*p == '\n')
			line++;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	fprintf(out, "%*ssource: ", indent, "");
	fwrite(p, 1, (size_t)(eol - p), out);
	fputc('\n', out);
	fprintf(out, "%*s", indent + 8, "");
	for (int c = 1; c < pos.col && p + c - 1 < eol; c++)
		fputc(p[c - 1] == '\t' ? '\t' : ' ', out);
	fputs("^\n", out);
}

static void print_pos(FILE *out, struct srcpos pos)
{
	if (pos.file)
		fprintf(out, "%s:%d:%d", pos.file->name, pos.line, pos.col);
	else
		fputs("<synthesised>", out);
}

void diag_report(struct diag *d, enum diag_kind kind, struct srcpos pos,
		 const char *what, const char *fmt, ...)
{
	int *counter = kind == DIAG_PARSE ? &d->parse_errors
		     : kind == DIAG_SEMANTIC ? &d->semantic_errors : &d->warnings;
	(*counter)++;
	if (d->suppress)
		return;
	if (kind != DIAG_WARNING && d->limit && diag_errors(d) > d->limit)
		return;

	char *buf = NULL;
	size_t buflen = 0;
	FILE *out = d->holding ? open_memstream(&buf, &buflen) : d->out;
	if (!out)
		out = d->out;
	va_list ap;
	va_start(ap, fmt);
	if (kind == DIAG_PARSE) {
		fputs("parse error: ", out);
		vfprintf(out, fmt, ap);
		fputc('\n', out);
		fputs("         at: ", out);
		if (what)
			fprintf(out, "%s at ", what);
		print_pos(out, pos);
		fputc('\n', out);
		diag_show_source(out, pos, 5);
	} else {
		fputs(kind == DIAG_SEMANTIC ? "semantic error: " : "WARNING: ", out);
		vfprintf(out, fmt, ap);
		if (what)
			fprintf(out, ": %s at ", what);
		else
			fputs(" at ", out);
		print_pos(out, pos);
		fputc('\n', out);
		diag_show_source(out, pos, kind == DIAG_SEMANTIC ? 8 : 1);
	}
	fputc('\n', out);
	va_end(ap);
	if (out != d->out) {
		fclose(out);
		if (d->note_next && d->nheld) {
			/* keep a follow-up note with the error it explains */
			struct diag_held *last = &d->held[d->nheld - 1];
			char *joined = xasprintf("%s%s", last->text, buf);
			free(last->text);
			free(buf);
			last->text = joined;
			d->note_next = false;
			return;
		}
		if (d->nheld == d->capheld) {
			d->capheld = d->capheld ? d->capheld * 2 : 16;
			d->held = xrealloc(d->held, d->capheld * sizeof *d->held);
		}
		d->held[d->nheld].pos = pos;
		d->held[d->nheld].order = d->nheld;
		d->held[d->nheld].text = buf;
		d->nheld++;
	}
	d->note_next = false;
}
