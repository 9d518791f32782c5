/* Internal interface between the parts of pass 2 (elaboration):
 * tapset.c loads the library, probes.c resolves probe points into derived
 * probes, resolve.c binds names, types.c infers and checks types,
 * elaborate.c drives them and prints the result. */
#ifndef STAP_ELAB_H
#define STAP_ELAB_H

#include "ast.h"
#include "session.h"

struct family;

/* One concrete probe: a resolved point plus the body that runs there. */
struct derived_probe {
	struct probe_point *pp;     /* concrete point, alias suffixes applied */
	const char *origin;         /* how it came about ("a = b <- a") */
	struct stmt *body;          /* own copy: prologues, user body, epilogues */
	struct probe *written;      /* the probe declaration it derives from */
	struct stapfile *file;      /* file of that declaration */
	struct ptrvec locals;       /* struct vardecl * */
	struct expr *cond;          /* probe-point condition or NULL */
	const struct family *family;
	bool is_return;             /* a .return probe (allows @entry) */
	bool optional;              /* written with ? or ! : may fail to register */
	bool synthetic;             /* made by the translator (auto-display) */
	int serial;
};

struct program {
	struct session *s;
	struct stapfile *user;
	struct ptrvec library;      /* struct stapfile *, every tapset file */
	struct ptrvec probes;       /* struct derived_probe * */
	struct ptrvec functions;    /* struct functiondecl *, used */
	struct ptrvec globals;      /* struct vardecl *, used */
	struct ptrvec files;        /* struct stapfile *, used (user first) */
	size_t files_derived;       /* files[0..n) have had their probes derived */

	/* indexes over the script and the whole library, in file order */
	struct strmap globals_by_name;   /* name -> struct vardecl * */
	struct strmap functions_by_name; /* name -> struct functiondecl * */
	struct strmap aliases_by_head;   /* first name component -> struct alias_name * */
	struct ptrvec all_aliases;       /* struct alias_name *, for wildcard heads */
};

/* One name of an alias definition (`probe a = b = ...` has two). */
struct alias_name {
	struct probe *alias;
	int index;                  /* into alias->alias_names */
};

void index_program(struct program *prog);
void free_program_index(struct program *prog);

/* tapset.c */
void tapset_load_macros(struct session *s);
void tapset_parse_library(struct session *s, struct ptrvec *library);

/* probes.c */
void use_file(struct program *prog, struct stapfile *f);
void derive_probes(struct program *prog, struct probe *pr, struct stapfile *file);
const char *family_name(const struct family *f);

/* resolve.c */
void resolve_program(struct program *prog);

/* types.c */
void infer_types(struct program *prog);
void add_auto_display(struct program *prog);

/* helpers shared by the passes */
void sem_error(struct session *s, struct srcpos pos, const struct token *tok,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void sem_warning(struct session *s, struct srcpos pos, const struct token *tok,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
