/* Module image reading and edits; see modimage.h.  Every offset read from
 * the image is checked against its size before use. */
#include "modimage.h"
#include "common.h"
#include "privilege.h"

#include <elf.h>
#include <stdint.h>
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

/* x86_64 struct module: enum module_state (4 bytes), padding (4), struct
 * list_head (16), then char name[MODULE_NAME_LEN]. */
#define THIS_MODULE_NAME_OFFSET 24
#define THIS_MODULE_NAME_LEN 56

/* Copies a NUL-terminated string of at most cap-1 bytes from [p, p+n). */
static bool copy_cstring(const char *p, size_t n, char *out, size_t cap)
{
	size_t len = strnlen(p, n);

	if (len == n || len >= cap)
		return false;
	memcpy(out, p, len + 1);
	return true;
}

/* Finds "key=" in the modinfo strings; returns its value or NULL. */
static const char *modinfo_find(const char *image, const struct stp_modimage_info *mi,
				const char *key, const char *after)
{
	const char *p = after ? after : image + mi->modinfo_off;
	const char *end = image + mi->modinfo_off + mi->modinfo_len;
	size_t klen = strlen(key);

	while (p < end) {
		size_t n = strnlen(p, (size_t)(end - p));

		if (n > klen && p[klen] == '=' && !memcmp(p, key, klen) && p + n < end)
			return p + klen + 1;
		p += n + 1;
	}
	return NULL;
}

static void modinfo_copy(const char *image, const struct stp_modimage_info *mi,
			 const char *key, char *out, size_t cap)
{
	const char *v = modinfo_find(image, mi, key, NULL);
	const char *end = image + mi->modinfo_off + mi->modinfo_len;

	out[0] = '\0';
	if (v && !copy_cstring(v, (size_t)(end - v), out, cap))
		out[0] = '\0';
}

int stp_modimage_inspect(const char *image, size_t size, struct stp_modimage_info *mi)
{
	size_t off, len;

	memset(mi, 0, sizeof(*mi));
	if (stp_modimage_section(image, size, ".gnu.linkonce.this_module", &off, &len) ||
	    len < THIS_MODULE_NAME_OFFSET + THIS_MODULE_NAME_LEN ||
	    !copy_cstring(image + off + THIS_MODULE_NAME_OFFSET, THIS_MODULE_NAME_LEN,
			  mi->elf_name, sizeof(mi->elf_name)) || !mi->elf_name[0])
		return -1;
	if (stp_modimage_section(image, size, ".modinfo", &mi->modinfo_off, &mi->modinfo_len) == 0) {
		modinfo_copy(image, mi, "name", mi->info_name, sizeof(mi->info_name));
		modinfo_copy(image, mi, "vermagic", mi->vermagic, sizeof(mi->vermagic));
	}
	mi->has_privilege = stp_modimage_section(image, size, ".stap_privilege", &off, &len) == 0;
	mi->required = stp_required_from_section(mi->has_privilege,
						 mi->has_privilege ? image + off : NULL,
						 mi->has_privilege ? len : 0);
	if (stp_modimage_section(image, size, ".stap_kernel_build_id", &off, &len) == 0 &&
	    (!copy_cstring(image + off, len, mi->build_id, sizeof(mi->build_id)) ||
	     strspn(mi->build_id, "0123456789abcdef") != strlen(mi->build_id)))
		return -1;
	return 0;
}

bool stp_modimage_declares_param(const char *image, const struct stp_modimage_info *mi,
				 const char *name)
{
	static const char *const keys[] = { "parm", "parmtype" };
	size_t n = strlen(name);

	for (size_t k = 0; k < 2; k++) {
		const char *v = NULL;

		while ((v = modinfo_find(image, mi, keys[k], v)) != NULL) {
			if (!strncmp(v, name, n) && v[n] == ':')
				return true;
			v += strlen(v);	/* on to the next string */
		}
	}
	return false;
}

int stp_notes_build_id(const void *notes, size_t len, char *hex, size_t cap)
{
	const unsigned char *p = notes;
	size_t pos = 0;

	while (len - pos >= 12) {
		uint32_t namesz, descsz, type;
		size_t name_pad, desc_pad;

		memcpy(&namesz, p + pos, 4);
		memcpy(&descsz, p + pos + 4, 4);
		memcpy(&type, p + pos + 8, 4);
		pos += 12;
		name_pad = ((size_t)namesz + 3) & ~(size_t)3;
		desc_pad = ((size_t)descsz + 3) & ~(size_t)3;
		if (name_pad > len - pos || desc_pad > len - pos - name_pad)
			return -1;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p + pos, "GNU", 4) &&
		    descsz > 0 && (size_t)descsz * 2 + 1 <= cap) {
			for (uint32_t i = 0; i < descsz; i++)
				sprintf(hex + 2 * i, "%02x", p[pos + name_pad + i]);
			return 0;
		}
		pos += name_pad + desc_pad;
	}
	return -1;
}
