/* vdso.c - see vdso.h. Reads the vDSO's ELF section headers to find .dynsym and its string
 * table, then for each defined function symbol maps its address (through the PT_LOAD segment)
 * to an offset in the image and writes the stub there. */
#include "migrate/vdso.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

struct redirect {
	const char *name;
	int nr;
};

static const struct redirect redirects[] = {
	{ "clock_gettime", SYS_clock_gettime }, { "gettimeofday", SYS_gettimeofday },
	{ "time", SYS_time },			{ "getcpu", SYS_getcpu },
	{ "clock_getres", SYS_clock_getres },	{ "getrandom", SYS_getrandom },
};

static int in(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

static int syscall_of(const char *name)
{
	if (strncmp(name, "__vdso_", 7) == 0)
		name += 7;
	for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++)
		if (strcmp(name, redirects[i].name) == 0)
			return redirects[i].nr;
	return -1;
}

static void put_stub(uint8_t *p, int nr)
{
	if (nr >= 0) { /* mov eax, nr; syscall; ret */
		const uint8_t s[8] = { 0xb8, (uint8_t)nr, (uint8_t)(nr >> 8), 0, 0, 0x0f, 0x05, 0xc3 };
		memcpy(p, s, sizeof(s));
	} else { /* mov rax, -ENOSYS; ret */
		const uint8_t s[8] = { 0x48, 0xc7, 0xc0, 0xda, 0xff, 0xff, 0xff, 0xc3 };
		memcpy(p, s, sizeof(s));
	}
}

/* File offset of virtual address v (through the PT_LOAD holding it), or -1. */
static int64_t offset_of(const uint8_t *text, size_t len, const Elf64_Ehdr *eh, uint64_t v)
{
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, text + eh->e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || v < ph.p_vaddr || v - ph.p_vaddr >= ph.p_filesz)
			continue;
		uint64_t off = ph.p_offset + (v - ph.p_vaddr);
		return in(len, off, 8) ? (int64_t)off : -1;
	}
	return -1;
}

int mig_vdso_redirect(uint8_t *text, size_t len)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return -EBADMSG;
	memcpy(&eh, text, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !in(len, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr)) ||
	    !in(len, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))
		return -EBADMSG;
	int patched = 0;
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh, str;
		memcpy(&sh, text + eh.e_shoff + (size_t)i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_DYNSYM || sh.sh_entsize != sizeof(Elf64_Sym) ||
		    sh.sh_link >= eh.e_shnum || !in(len, sh.sh_offset, sh.sh_size))
			continue;
		memcpy(&str, text + eh.e_shoff + (size_t)sh.sh_link * sizeof(str), sizeof(str));
		if (!in(len, str.sh_offset, str.sh_size) || str.sh_size == 0 ||
		    text[str.sh_offset + str.sh_size - 1] != 0)
			return -EBADMSG;
		for (uint64_t k = 0; k < sh.sh_size / sizeof(Elf64_Sym); k++) {
			Elf64_Sym sym;
			memcpy(&sym, text + sh.sh_offset + k * sizeof(sym), sizeof(sym));
			if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
			    sym.st_name >= str.sh_size)
				continue;
			int64_t off = offset_of(text, len, &eh, sym.st_value);
			if (off < 0 || (sym.st_size && sym.st_size < 8))
				return -EBADMSG;
			put_stub(text + off,
				 syscall_of((const char *)text + str.sh_offset + sym.st_name));
			patched++;
		}
	}
	return patched > 0 ? patched : -EBADMSG;
}
