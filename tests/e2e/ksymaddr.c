/* ksymaddr VMLINUX NAME: print the address of the exported kernel symbol
 * NAME, read from the __ksymtab / __ksymtab_gpl tables of VMLINUX (Debian
 * strips vmlinux's symbol table but keeps these).  Entries are three
 * 32-bit offsets relative to their own address: value, name, namespace.
 * Exit 1 when NAME is not exported.  Used by e2e cases that need an
 * absolute kernel address at build time (the QEMU target boots vmlinux
 * directly, without KASLR). */
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static Elf_Scn *section(Elf *e, size_t shstrndx, const char *want, GElf_Shdr *sh)
{
	for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
		const char *name;
		if (gelf_getshdr(s, sh) && (name = elf_strptr(e, shstrndx, sh->sh_name)) &&
		    !strcmp(name, want))
			return s;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: ksymaddr VMLINUX NAME\n");
		return 2;
	}
	elf_version(EV_CURRENT);
	int fd = open(argv[1], O_RDONLY);
	Elf *e = fd < 0 ? NULL : elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	if (!e || elf_getshdrstrndx(e, &shstrndx)) {
		fprintf(stderr, "ksymaddr: cannot read %s as ELF\n", argv[1]);
		return 2;
	}
	GElf_Shdr ssh;
	Elf_Scn *strs = section(e, shstrndx, "__ksymtab_strings", &ssh);
	Elf_Data *sd = strs ? elf_getdata(strs, NULL) : NULL;
	if (!sd) {
		fprintf(stderr, "ksymaddr: %s has no __ksymtab_strings\n", argv[1]);
		return 2;
	}
	static const char *const tabs[] = { "__ksymtab", "__ksymtab_gpl" };
	for (size_t t = 0; t < 2; t++) {
		GElf_Shdr sh;
		Elf_Scn *s = section(e, shstrndx, tabs[t], &sh);
		Elf_Data *d = s ? elf_getdata(s, NULL) : NULL;
		if (!d)
			continue;
		for (size_t off = 0; off + 12 <= d->d_size; off += 12) {
			int32_t rel[2];
			memcpy(rel, (const char *)d->d_buf + off, sizeof rel);
			uint64_t entry = sh.sh_addr + off;
			uint64_t name = entry + 4 + (int64_t)rel[1];
			if (name < ssh.sh_addr || name >= ssh.sh_addr + sd->d_size)
				continue;
			const char *str = (const char *)sd->d_buf + (name - ssh.sh_addr);
			size_t room = ssh.sh_addr + sd->d_size - name;
			if (strnlen(str, room) < room && !strcmp(str, argv[2])) {
				printf("0x%" PRIx64 "\n", entry + (int64_t)rel[0]);
				return 0;
			}
		}
	}
	fprintf(stderr, "ksymaddr: %s is not exported by %s\n", argv[2], argv[1]);
	return 1;
}
