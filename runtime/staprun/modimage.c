/* Module image edits; see modimage.h.  Every offset read from the image is
 * checked against its size before use. */
#include "modimage.h"
#include "common.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

int stp_modimage_section(const char *image, size_t size, const char *name,
			 size_t *off, size_t *len)
{
	Elf64_Ehdr eh;
	Elf64_Shdr strtab, sh;
	size_t i, nlen = strlen(name);

	if (size < sizeof(eh))
		return -1;
	memcpy(&eh, image, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum ||
	    eh.e_shoff > size || (size - eh.e_shoff) / sizeof(sh) < eh.e_shnum)
		return -1;
	memcpy(&strtab, image + eh.e_shoff + eh.e_shstrndx * sizeof(sh), sizeof(sh));
	if (strtab.sh_offset > size || strtab.sh_size > size - strtab.sh_offset)
		return -1;
	for (i = 0; i < eh.e_shnum; i++) {
		memcpy(&sh, image + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_name >= strtab.sh_size ||
		    strtab.sh_size - sh.sh_name < nlen + 1 ||
		    memcmp(image + strtab.sh_offset + sh.sh_name, name, nlen + 1))
			continue;
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
			return -1;
		*off = sh.sh_offset;
		*len = sh.sh_size;
		return 0;
	}
	return -1;
}

int stp_modimage_rename(char *image, size_t size, const char *old, int pid,
			char *out, size_t cap, const char *prog)
{
	size_t off, len, olen = strlen(old), i, keep;
	char suffix[16];
	int slen = snprintf(suffix, sizeof(suffix), "_%d", pid);

	if (stp_modimage_section(image, size, ".gnu.linkonce.this_module", &off, &len)) {
		stp_msg(prog, "Section name \".gnu.linkonce.this_module\" not found in module.");
		return -1;
	}
	if (olen + 1 > cap) {
		stp_msg(prog, "Old module name is too long.");
		return -1;
	}
	if (olen <= (size_t)slen) {
		stp_msg(prog, "WARNING: Old module name '%s' is too short for renaming, ignoring -R.", old);
		memcpy(out, old, olen + 1);
		return 0;
	}
	for (i = 0; i + olen < len; i++) {
		char *p = image + off + i;

		if (memcmp(p, old, olen + 1))
			continue;
		keep = olen - (size_t)slen;
		memcpy(out, old, keep);
		memcpy(out + keep, suffix, (size_t)slen + 1);
		memcpy(p, out, olen);
		return 0;
	}
	stp_msg(prog, "Could not find old name to replace!");
	return -1;
}
