#!/usr/bin/env python3
"""scripts/check-module-flags.py: the build's check that Kamailio will load
the sofw.so it just built. Fed mismatching cores, it must refuse with the
difference and its fix; fed the installed core, it must accept the real
module (read from the ELF file itself, as the loader would see it)."""
import importlib.util
import os
import struct
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("SOFW_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
SCRIPT = os.path.join(SOURCE, "scripts", "check-module-flags.py")
MODULE = os.path.join(os.environ.get("SOFW_BUILD_DIR", os.path.join(SOURCE, "build", "cmake")),
                      "..", "sofw.so")

spec = importlib.util.spec_from_file_location("check_module_flags", SCRIPT)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

VERSION = "kamailio 5.6.3 (x86_64/linux) "
DEBIAN_FLAGS = ("USE_TCP, USE_TLS, USE_SCTP, TLS_HOOKS, USE_RAW_SOCKS, DISABLE_NAGLE, "
                "USE_MCAST, DNS_IP_HACK, SHM_MMAP, PKG_MALLOC, Q_MALLOC, F_MALLOC, "
                "TLSF_MALLOC, DBG_SR_MEMORY, USE_FUTEX, FAST_LOCK-ADAPTIVE_WAIT, "
                "USE_DNS_CACHE, USE_DNS_FAILOVER, USE_NAPTR, USE_DST_BLOCKLIST, "
                "HAVE_RESOLV_RES, TLS_PTHREAD_MUTEX_SHARED")
NO_LIBSSL_FLAGS = DEBIAN_FLAGS.replace(", TLS_PTHREAD_MUTEX_SHARED", "")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


class Compare(unittest.TestCase):
    def test_identical_is_accepted(self):
        self.assertIsNone(check.compare(VERSION, DEBIAN_FLAGS, VERSION, DEBIAN_FLAGS))

    def test_module_built_without_libssl_is_refused_with_the_fix(self):
        # The fresh-box failure: core built with libssl-dev, module without.
        msg = check.compare(VERSION, DEBIAN_FLAGS, VERSION, NO_LIBSSL_FLAGS)
        self.assertIsNotNone(msg)
        self.assertIn("kamailio has TLS_PTHREAD_MUTEX_SHARED, sofw.so lacks it", msg)
        self.assertIn("libssl-dev", msg)
        self.assertIn("config.mak", msg)

    def test_extra_module_flag_is_named_without_the_libssl_hint(self):
        msg = check.compare(VERSION, NO_LIBSSL_FLAGS, VERSION, DEBIAN_FLAGS)
        self.assertIn("sofw.so has TLS_PTHREAD_MUTEX_SHARED, kamailio lacks it", msg)
        self.assertNotIn("install libssl-dev", msg)

    def test_same_flags_in_another_order_is_refused(self):
        # Kamailio compares the strings, not the sets.
        flags = DEBIAN_FLAGS.split(", ")
        flags[0], flags[1] = flags[1], flags[0]
        msg = check.compare(VERSION, DEBIAN_FLAGS, VERSION, ", ".join(flags))
        self.assertIn("another order", msg)

    def test_version_mismatch_is_refused(self):
        msg = check.compare(VERSION, DEBIAN_FLAGS, "kamailio 5.7.4 (x86_64/linux) ", DEBIAN_FLAGS)
        self.assertIn("version: kamailio is 'kamailio 5.6.3 (x86_64/linux)'", msg)
        self.assertIn("5.7.4", msg)

    def test_core_output_needs_both_lines(self):
        v, f = check.core_strings(f"version: {VERSION}\nflags: {DEBIAN_FLAGS}\nADAPTIVE...\n")
        self.assertEqual((v, f), (VERSION, DEBIAN_FLAGS))
        with self.assertRaises(ValueError):
            check.core_strings(f"version: {VERSION}\n")


class ElfReading(unittest.TestCase):
    def test_garbage_is_not_read_as_a_module(self):
        with tempfile.NamedTemporaryFile(suffix=".so") as f:
            f.write(b"\x7fELF" + b"\0" * 10)
            f.flush()
            r = run("--core-output", os.devnull, f.name)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("cannot read", r.stderr)

    def test_truncated_section_table_is_refused(self):
        head = bytearray(64)
        head[:6] = b"\x7fELF\x02\x01"
        struct.pack_into("<Q", head, 0x28, 4096)          # e_shoff past the end
        struct.pack_into("<HH", head, 0x3A, 64, 30)
        with self.assertRaises(check.ElfError):
            check.Elf64(bytes(head))


class BuiltModule(unittest.TestCase):
    """The sofw.so scripts/build.sh made, against the installed kamailio."""

    def core_output(self, text):
        f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
        f.write(text)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_module_carries_the_installed_cores_flags(self):
        r = run(MODULE)
        self.assertEqual(r.returncode, 0, r.stderr)
        real = subprocess.run(["/usr/sbin/kamailio", "-V"], capture_output=True,
                              text=True, check=True).stdout
        version, flags = check.core_strings(real)
        mod_version, mod_flags = check.module_strings(MODULE)
        self.assertEqual((mod_version.strip(), mod_flags), (version.strip(), flags))

    def test_module_is_refused_by_a_core_with_other_flags(self):
        real = subprocess.run(["/usr/sbin/kamailio", "-V"], capture_output=True,
                              text=True, check=True).stdout
        version, flags = check.core_strings(real)
        self.assertIn("TLS_PTHREAD_MUTEX_SHARED", flags)
        other = real.replace(", TLS_PTHREAD_MUTEX_SHARED", "")
        r = run("--core-output", self.core_output(other), MODULE)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("Kamailio would refuse", r.stderr)
        self.assertIn("TLS_PTHREAD_MUTEX_SHARED", r.stderr)

    def test_module_is_refused_by_another_version(self):
        real = subprocess.run(["/usr/sbin/kamailio", "-V"], capture_output=True,
                              text=True, check=True).stdout
        other = real.replace("version: kamailio ", "version: kamailio 9.", 1)
        r = run("--core-output", self.core_output(other), MODULE)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("version: kamailio is", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
