/* The Pike VM for the translator's regular-expression programs.
 *
 * Threads live in two lists (this byte, next byte) in priority order; a
 * thread reaching MATCH ends the lower-priority ones, which gives
 * leftmost-first submatches.  Following JMP/SPLIT/SAVE/anchors uses an
 * explicit stack: kernel stacks are small. */
#include "regex.h"

struct vm {
	const struct stp_re_inst *prog;
	int ninsts;
	const char *s;
	struct stp_re_scratch *sc;
	uint32_t gen;
};

/* Add pc (and what it leads to without consuming a byte) to list. */
static void add_thread(struct vm *vm, struct stp_re_thread *list, int *n, int pc,
		       const int16_t *saves, int pos)
{
	struct stp_re_thread *stack = vm->sc->stack;
	int top = 0;
	stack[top].pc = (int16_t)pc;
	memcpy(stack[top].saves, saves, sizeof stack[top].saves);
	top++;
	while (top > 0) {
		struct stp_re_thread t = stack[--top];
		const struct stp_re_inst *in;
		if (t.pc < 0 || t.pc >= vm->ninsts || vm->sc->mark[t.pc] == vm->gen)
			continue;
		vm->sc->mark[t.pc] = vm->gen;
		in = &vm->prog[t.pc];
		switch (in->op) {
		case STP_RE_JMP:
			t.pc = in->x;
			stack[top++] = t;
			break;
		case STP_RE_SPLIT:
			/* x first: push y below it */
			t.pc = in->y;
			stack[top++] = t;
			t.pc = in->x;
			stack[top++] = t;
			break;
		case STP_RE_SAVE:
			if (in->arg < 2 * STP_RE_MAX_GROUPS)
				t.saves[in->arg] = (int16_t)pos;
			t.pc++;
			stack[top++] = t;
			break;
		case STP_RE_BOL:
			if (pos == 0) {
				t.pc++;
				stack[top++] = t;
			}
			break;
		case STP_RE_EOL:
			if (vm->s[pos] == '\0') {
				t.pc++;
				stack[top++] = t;
			}
			break;
		default:
			list[(*n)++] = t;
			break;
		}
	}
}

static bool in_class(const uint8_t *cls, unsigned char c)
{
	return cls[c >> 3] & (1u << (c & 7));
}

bool stp_regex_match(const struct stp_re_inst *prog, int ninsts, int ngroups, const char *s,
		     struct stp_re_match *m, struct stp_re_scratch *scratch)
{
	struct vm vm = { prog, ninsts, s, scratch, 0 };
	struct stp_re_thread *clist = scratch->list[0], *nlist = scratch->list[1], *tmp;
	int16_t none[2 * STP_RE_MAX_GROUPS], best[2 * STP_RE_MAX_GROUPS];
	int nc = 0, nn, pos, i, g;
	bool matched = false;

	if (ninsts <= 0 || ninsts > STP_RE_MAX_INSTS)
		return false;
	memset(scratch->mark, 0, sizeof(uint32_t) * (size_t)ninsts);
	for (i = 0; i < 2 * STP_RE_MAX_GROUPS; i++)
		none[i] = -1;
	vm.gen = 1;
	for (pos = 0;; pos++) {
		unsigned char ch = (unsigned char)s[pos];
		if (!matched)
			add_thread(&vm, clist, &nc, 0, none, pos);   /* a start here, last */
		if (nc == 0)
			break;
		vm.gen++;
		nn = 0;
		for (i = 0; i < nc; i++) {
			const struct stp_re_thread *t = &clist[i];
			const struct stp_re_inst *in = &prog[t->pc];
			bool step = false;
			switch (in->op) {
			case STP_RE_CHAR:
				step = ch && ch == in->arg;
				break;
			case STP_RE_ANY:
				step = ch != 0;
				break;
			case STP_RE_CLASS:
				step = ch && in_class(in->cls, ch);
				break;
			case STP_RE_MATCH:
				matched = true;
				memcpy(best, t->saves, sizeof best);
				i = nc;   /* lower-priority threads are cut off */
				continue;
			default:
				break;
			}
			if (step)
				add_thread(&vm, nlist, &nn, t->pc + 1, t->saves, pos + 1);
		}
		/* nlist was built under this generation: a start thread added
		 * to it next round must see its marks */
		tmp = clist;
		clist = nlist;
		nlist = tmp;
		nc = nn;
		if (!ch)
			break;
	}
	if (m) {
		m->result = matched;
		if (matched) {
			size_t len = strlen(s);
			if (len >= sizeof m->matched_str)
				len = sizeof m->matched_str - 1;
			memcpy(m->matched_str, s, len);
			m->matched_str[len] = '\0';
			m->num_final_tags = 2 * ngroups;
			for (g = 0; g < 2 * STP_RE_MAX_GROUPS; g++)
				m->tag_vals[g] = g < 2 * ngroups ? best[g] : -1;
		}
	}
	return matched;
}
