#!/usr/bin/env python3
"""Checks that a built sofw.so will be accepted by the installed Kamailio.

Kamailio's loader (ksr_version_control() in src/core/sr_module.c) compares
two strings every module exports, `module_version` and `module_flags`, with
the core's own SER_FULL_VERSION and SER_COMPILE_FLAGS, and refuses the
module at start-up on any difference. Those flags come from the Kamailio
source's Makefile.defs, and some of them depend on what is installed on the
build machine (KSR_PTHREAD_MUTEX_SHARED, printed as TLS_PTHREAD_MUTEX_SHARED,
only when pkg-config finds libssl). This check reads both strings out of the
built module's ELF file, reads the core's from `kamailio -V`, and fails the
build with the difference and its fix instead of leaving it to Kamailio.

    check-module-flags.py build/sofw.so                       # against /usr/sbin/kamailio
    check-module-flags.py --kamailio PATH build/sofw.so
    check-module-flags.py --core-output FILE build/sofw.so    # `kamailio -V` text saved in FILE

Exit status: 0 match, 1 mismatch, 2 the module or the core could not be read.
"""
import argparse
import struct
import subprocess
import sys

# Flags the core has and a module can lack because of the build machine:
# what turns each on, and how to get it.
MISSING_FLAG_FIXES = {
    "TLS_PTHREAD_MUTEX_SHARED":
        "Kamailio's Makefile.defs adds -DKSR_PTHREAD_MUTEX_SHARED only when "
        "`pkg-config --exists libssl` succeeds: install libssl-dev "
        "(scripts/setup.sh does)",
}
GENERIC_FIX = ("the module was configured on a machine that differs from the "
               "one Debian built kamailio on")
REBUILD = ("then drop the cached Kamailio build configuration and build again: "
           "rm -f build/kamailio-src/tree/src/config.mak && scripts/build.sh")


class ElfError(Exception):
    pass


# Relocation types that store "load base + addend" (a pointer to the module's
# own data), per architecture.
RELATIVE_TYPES = {62: 8,      # EM_X86_64: R_X86_64_RELATIVE
                  183: 1027}  # EM_AARCH64: R_AARCH64_RELATIVE


class Elf64:
    """Just enough of an ELF64 little-endian shared object to read the
    string an exported `char *` symbol points to."""

    def __init__(self, data):
        if len(data) < 64 or data[:4] != b"\x7fELF":
            raise ElfError("not an ELF file")
        if data[4] != 2 or data[5] != 1:
            raise ElfError("not a 64-bit little-endian ELF file")
        self.data = data
        self.machine = struct.unpack_from("<H", data, 0x12)[0]
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        if shoff == 0 or shentsize != 64 or shoff + shnum * 64 > len(data):
            raise ElfError("no usable section header table")
        self.sections = []
        for i in range(shnum):
            (name, typ, flags, addr, off, size, link, info, align,
             entsize) = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * 64)
            self.sections.append(dict(type=typ, addr=addr, offset=off,
                                      size=size, link=link, entsize=entsize))

    def _bytes(self, off, size):
        if off + size > len(self.data):
            raise ElfError("section outside the file")
        return self.data[off:off + size]

    def _cstring(self, blob, off):
        end = blob.find(b"\0", off)
        if off >= len(blob) or end < 0:
            raise ElfError("unterminated string")
        return blob[off:end].decode("ascii", "replace")

    def symbol_value(self, wanted):
        for s in self.sections:
            if s["type"] != 11:  # SHT_DYNSYM
                continue
            if s["link"] >= len(self.sections):
                raise ElfError("bad string table link")
            strtab = self.sections[s["link"]]
            names = self._bytes(strtab["offset"], strtab["size"])
            table = self._bytes(s["offset"], s["size"])
            for pos in range(0, len(table) - 23, 24):
                name_off, info, other, shndx, value, size = struct.unpack_from(
                    "<IBBHQQ", table, pos)
                if shndx != 0 and self._cstring(names, name_off) == wanted:
                    return value
        raise ElfError(f"no exported symbol {wanted}")

    def _file_offset(self, vaddr):
        for s in self.sections:
            if s["type"] != 8 and s["addr"] and s["addr"] <= vaddr < s["addr"] + s["size"]:
                return s["offset"] + vaddr - s["addr"]
        raise ElfError(f"address {vaddr:#x} is in no section of the file")

    def pointer_at(self, vaddr):
        """The value the dynamic loader will store at vaddr."""
        relative = RELATIVE_TYPES.get(self.machine)
        for s in self.sections:
            if s["type"] != 4:  # SHT_RELA
                continue
            table = self._bytes(s["offset"], s["size"])
            for pos in range(0, len(table) - 23, 24):
                r_offset, r_info, r_addend = struct.unpack_from("<QQq", table, pos)
                if r_offset != vaddr:
                    continue
                if (r_info & 0xffffffff) != relative:
                    raise ElfError(f"unexpected relocation type {r_info & 0xffffffff} "
                                   f"for the pointer at {vaddr:#x}")
                return r_addend
        return struct.unpack_from("<Q", self.data, self._file_offset(vaddr))[0]

    def string_symbol(self, name):
        """The string an exported `char *name` points to."""
        target = self.pointer_at(self.symbol_value(name))
        off = self._file_offset(target)
        end = self.data.find(b"\0", off)
        if end < 0:
            raise ElfError(f"{name}: unterminated string")
        return self.data[off:end].decode("ascii", "replace")


def module_strings(path):
    with open(path, "rb") as f:
        elf = Elf64(f.read())
    return elf.string_symbol("module_version"), elf.string_symbol("module_flags")


def core_strings(version_output):
    """(version, flags) from the text of `kamailio -V`."""
    version = flags = None
    for line in version_output.splitlines():
        if line.startswith("version: "):
            version = line[len("version: "):]
        elif line.startswith("flags: "):
            flags = line[len("flags: "):]
    if version is None or flags is None:
        raise ValueError("no 'version:' and 'flags:' lines in `kamailio -V` output")
    return version, flags


def split_flags(flags):
    return [f.strip() for f in flags.split(",") if f.strip()]


def compare(core_version, core_flags, mod_version, mod_flags):
    """None when Kamailio will load the module, else the explanation."""
    problems = []
    if core_version.strip() != mod_version.strip():
        problems.append(f"version: kamailio is '{core_version.strip()}', "
                        f"sofw.so was built for '{mod_version.strip()}'.\n"
                        "  fix: scripts/setup.sh fetches the source of exactly the "
                        "installed kamailio; " + REBUILD)
    # The loader compares the whole string, so order and spacing count too.
    if core_flags.strip() != mod_flags.strip():
        core_set, mod_set = split_flags(core_flags), split_flags(mod_flags)
        only_core = [f for f in core_set if f not in mod_set]
        only_mod = [f for f in mod_set if f not in core_set]
        lines = ["compile flags differ from the core's:"]
        for f in only_core:
            lines.append(f"  kamailio has {f}, sofw.so lacks it")
        for f in only_mod:
            lines.append(f"  sofw.so has {f}, kamailio lacks it")
        if not only_core and not only_mod:
            lines.append("  the same flags in another order")
        fixes = [MISSING_FLAG_FIXES[f] for f in only_core if f in MISSING_FLAG_FIXES]
        lines.append("  fix: " + ("; ".join(fixes) if fixes else GENERIC_FIX) + ",")
        lines.append("  " + REBUILD)
        problems.append("\n".join(lines))
    return "\n".join(problems) if problems else None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module")
    ap.add_argument("--kamailio", default="/usr/sbin/kamailio")
    ap.add_argument("--core-output", help="file holding `kamailio -V` output")
    args = ap.parse_args(argv)
    try:
        mod_version, mod_flags = module_strings(args.module)
    except (OSError, ElfError) as e:
        print(f"check-module-flags: cannot read {args.module}: {e}", file=sys.stderr)
        return 2
    try:
        if args.core_output:
            with open(args.core_output) as f:
                text = f.read()
        else:
            text = subprocess.run([args.kamailio, "-V"], capture_output=True,
                                  text=True, check=True).stdout
        core_version, core_flags = core_strings(text)
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        print(f"check-module-flags: cannot read the core's version and flags: {e}",
              file=sys.stderr)
        return 2
    problem = compare(core_version, core_flags, mod_version, mod_flags)
    if problem:
        print(f"check-module-flags: Kamailio would refuse {args.module}:\n{problem}",
              file=sys.stderr)
        return 1
    print(f"check-module-flags: {args.module} matches {core_version.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
