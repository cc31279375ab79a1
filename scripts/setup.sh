#!/usr/bin/env bash
# Installs everything SoFW needs to build, test and run its demo on Debian 12,
# and fetches the Kamailio source matching the installed kamailio package
# (the module SDK). Idempotent: a second run changes nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  # build
  build-essential cmake pkg-config bison flex dpkg-dev python3 git
  libmicrohttpd-dev libcurl4-openssl-dev libre-dev nettle-dev libgtest-dev googletest libgnutls28-dev openssl
  # Kamailio's Makefile.defs turns on KSR_PTHREAD_MUTEX_SHARED only when
  # pkg-config finds libssl: Debian built its core that way, so must we.
  libssl-dev
  # the fuzz targets (fuzz/README.md): clang with libFuzzer and the
  # sanitizer runtimes, and the symbolizer for their stack traces
  clang libclang-rt-14-dev llvm-14
  # HRAS runtime: Debian's Kamailio; the phones' accounts in SQLite
  # (db_sqlite, and the sqlite3 tool kamctl/kamdbctl drive)
  kamailio kamailio-extra-modules kamailio-sqlite-modules sqlite3
  # test bed: namespaces, firewall, captures, phones, proxies, audio
  iproute2 nftables tcpdump tshark baresip sip-tester
  squid tinyproxy nginx sox espeak-ng procps psmisc curl
  # the tests' own rogue HRAS and HRAC speak tunnel records (HKDF,
  # ChaCha20-Poly1305) with Debian's Python cryptography
  python3-cryptography
  # the status page test looks at the page with headless Chromium
  chromium
  # the package test: hrac-agent's postinst (adduser), systemd-analyze verify
  # of its unit, setpriv to run it as the unit does (util-linux), objdump
  adduser systemd util-linux binutils
)

need_root() { [ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (apt-get, namespaces)" >&2; exit 1; }; }
need_root

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# deb-src entry for bookworm main, needed by apt-get source kamailio
src_list=/etc/apt/sources.list.d/sofw-deb-src.sources
need_update=0
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat > "$src_list" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  need_update=1
fi
if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Kamailio's build configuration (src/config.mak) records what was
  # installed when it was made (libssl decides a compile flag): make it anew.
  rm -f "$top/build/kamailio-src/tree/src/config.mak"
fi

# Distribution services must not hold the ports tests and demo use.
for svc in kamailio squid tinyproxy nginx; do
  if systemctl is-enabled "$svc" >/dev/null 2>&1 || systemctl is-active "$svc" >/dev/null 2>&1; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

# Kamailio source of exactly the installed version (module SDK)
kver=$(dpkg-query -W -f='${Version}' kamailio)
kup=${kver%%-*}
srcroot="$top/build/kamailio-src"
if [ ! -f "$srcroot/.version" ] || [ "$(cat "$srcroot/.version")" != "$kver" ]; then
  rm -rf "$srcroot"; mkdir -p "$srcroot"
  (cd "$srcroot" && apt-get source -qq --download-only "kamailio=$kver" >/dev/null &&
     dpkg-source -x --skip-patches kamailio_*.dsc tree >/dev/null 2>&1 ||
     dpkg-source -x kamailio_*.dsc tree >/dev/null)
  echo "$kver" > "$srcroot/.version"
fi
test -f "$srcroot/tree/src/core/sr_module.c"
echo "setup.sh: ready (kamailio $kup, source in build/kamailio-src/tree)"
