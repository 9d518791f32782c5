/* Deep copies of statement and expression trees.  Each derived probe gets
 * its own copy of its body, so that its locals and types are its own. */
#include <string.h>

#include "ast.h"
#include "session.h"

static struct expr *clone_e(struct session *s, const struct expr *e);

static struct expr **clone_args(struct session *s, struct expr *const *args, int n)
{
	if (!n)
		return NULL;
	struct expr **v = arena_alloc(&s->arena, (size_t)n * sizeof *v);
	for (int k = 0; k < n; k++)
		v[k] = clone_e(s, args[k]);
	return v;
}

static struct expr *clone_e(struct session *s, const struct expr *e)
{
	if (!e)
		return NULL;
	struct expr *c = arena_alloc(&s->arena, sizeof *c);
	*c = *e;
	c->type = T_UNKNOWN;
	c->referent = NULL;
	c->func = NULL;
	c->left = clone_e(s, e->left);
	c->right = clone_e(s, e->right);
	c->cond = clone_e(s, e->cond);
	c->base = clone_e(s, e->base);
	c->fmt = clone_e(s, e->fmt);
	c->args = clone_args(s, e->args, e->nargs);
	if (e->ncomps) {
		c->comps = arena_alloc(&s->arena, (size_t)e->ncomps * sizeof *c->comps);
		for (int k = 0; k < e->ncomps; k++) {
			c->comps[k] = e->comps[k];
			c->comps[k].index = clone_e(s, e->comps[k].index);
		}
	}
	return c;
}

struct expr *clone_expr(struct session *s, const struct expr *e)
{
	return clone_e(s, e);
}

struct stmt *clone_stmt(struct session *s, const struct stmt *st)
{
	if (!st)
		return NULL;
	struct stmt *c = arena_alloc(&s->arena, sizeof *c);
	*c = *st;
	if (st->nbody) {
		c->body = arena_alloc(&s->arena, (size_t)st->nbody * sizeof *c->body);
		for (int k = 0; k < st->nbody; k++)
			c->body[k] = clone_stmt(s, st->body[k]);
	}
	c->e = clone_e(s, st->e);
	c->then = clone_stmt(s, st->then);
	c->els = clone_stmt(s, st->els);
	c->init = clone_e(s, st->init);
	c->incr = clone_e(s, st->incr);
	c->fe_value = clone_e(s, st->fe_value);
	c->fe_keys = clone_args(s, st->fe_keys, st->fe_nkeys);
	c->fe_base = clone_e(s, st->fe_base);
	c->fe_slice = clone_args(s, st->fe_slice, st->fe_nslice);
	c->fe_limit = clone_e(s, st->fe_limit);
	c->catch_var = clone_e(s, st->catch_var);
	return c;
}
