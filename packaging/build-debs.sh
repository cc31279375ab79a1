#!/usr/bin/env bash
# Builds SoFW's two Debian packages into build/deb/ (`make deb` runs this):
#
#   kamailio-sofw-module_<version>_<arch>.deb   sofw.so, example configs, module README,
#                                               a kamailio.service drop-in (LimitNOFILE),
#                                               the account database (SQLite)
#   hrac-agent_<version>_<arch>.deb             hrac-agent, /etc/sofw/hrac-agent.conf,
#                                               the systemd unit, the sofw user
#
# First builds everything (scripts/build.sh). <version> is the top-level
# CMake project version. Each package is a staged tree packed with
# dpkg-deb --build (no debhelper); Depends come from dpkg-shlibdeps on the
# binaries, and the module also depends on exactly the installed kamailio
# version it was built against (a module must match the core's build).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/deb"
stage="$out/stage"
maintainer="SoFW maintainers <maintainers@sofw.invalid>"

"$top/scripts/build.sh"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$top/build/cmake/CMakeCache.txt")
[ -n "$version" ] || { echo "build-debs.sh: no project version in build/cmake/CMakeCache.txt" >&2; exit 1; }
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
kamailio_version=$(dpkg-query -W -f='${Version}' kamailio)
built_against=$(cat "$top/build/kamailio-src/.version")
if [ "$built_against" != "$kamailio_version" ]; then
  echo "build-debs.sh: sofw.so was built against kamailio $built_against, installed is $kamailio_version;" \
       "run scripts/setup.sh and build again" >&2
  exit 1
fi

# shlibs:Depends of the given files, from dpkg-shlibdeps run in a scratch
# "source tree" (it wants a debian/control).
shlib_depends() {
  local scratch
  scratch=$(mktemp -d)
  mkdir "$scratch/debian"
  printf 'Source: sofw\n\nPackage: sofw\nArchitecture: any\n' > "$scratch/debian/control"
  local args=()
  for f in "$@"; do args+=("-e$f"); done
  (cd "$scratch" && dpkg-shlibdeps -O "${args[@]}" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
  rm -rf "$scratch"
}

# Writes DEBIAN/md5sums and DEBIAN/control of staged tree $1 and packs it.
# $2: package name; stdin: the rest of the control fields.
pack() {
  local root=$1 name=$2
  (cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
    > "$root/DEBIAN/md5sums"
  {
    echo "Package: $name"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $maintainer"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    cat
  } > "$root/DEBIAN/control"
  dpkg-deb --root-owner-group --build "$root" "$out/${name}_${version}_${arch}.deb" >/dev/null
  echo "build-debs.sh: built build/deb/${name}_${version}_${arch}.deb"
}

rm -rf "$stage" "$out"/*.deb
mkdir -p "$stage"

# --- kamailio-sofw-module -------------------------------------------------
m="$stage/kamailio-sofw-module"
doc="$m/usr/share/doc/kamailio-sofw-module"
install -d "$m/DEBIAN" "$m/usr/lib/$multiarch/kamailio/modules" "$doc/examples"
install -m 0644 "$top/build/sofw.so" "$m/usr/lib/$multiarch/kamailio/modules/sofw.so"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$m/usr/lib/$multiarch/kamailio/modules/sofw.so"
# The packed module, not only the built one, must be what the installed
# kamailio loads (version and compile flags).
python3 "$top/scripts/check-module-flags.py" "$m/usr/lib/$multiarch/kamailio/modules/sofw.so"
install -m 0644 "$top/cfg/kamailio.cfg" "$top/cfg/sofw-local.cfg.sample" "$top/cfg/sofw-sites.cfg.sample" \
  "$top/cfg/kamctlrc.sample" "$doc/examples/"
install -m 0644 "$top/kamailio-mod-sofw/README" "$doc/README"
install -m 0644 "$top/packaging/kamailio-sofw-module/README.Debian" "$doc/README.Debian"
# The descriptor limit Kamailio needs for sofw.so (docs/deployment.md).
install -d "$m/lib/systemd/system/kamailio.service.d"
install -m 0644 "$top/packaging/kamailio-sofw-module/kamailio-sofw.conf" \
  "$m/lib/systemd/system/kamailio.service.d/kamailio-sofw.conf"
install -m 0755 "$top/packaging/kamailio-sofw-module/postinst" "$top/packaging/kamailio-sofw-module/postrm" \
  "$m/DEBIAN/"
module_libs=$(shlib_depends "$m/usr/lib/$multiarch/kamailio/modules/sofw.so")
pack "$m" kamailio-sofw-module <<EOF
Section: net
Priority: optional
Depends: kamailio (= $kamailio_version), kamailio-sqlite-modules (= $kamailio_version), sqlite3, $module_libs
Description: SoFW HRAS: Kamailio module for SIP phones behind company firewalls
 sofw.so serves the HTTP tunnels of SoFW's LAN agents (hrac-agent) and makes
 the phones behind them part of Kamailio's normal routing: address
 translation at the tunnel, SDP rewriting and a media relay.
 .
 Built for kamailio $kamailio_version exactly. Example configuration in
 /usr/share/doc/kamailio-sofw-module/examples; phones authenticate against
 /var/lib/kamailio/sofw.sqlite (kamctl add).
EOF

# --- hrac-agent -----------------------------------------------------------
a="$stage/hrac-agent"
adoc="$a/usr/share/doc/hrac-agent"
install -d "$a/DEBIAN" "$a/usr/bin" "$a/etc/sofw" "$a/lib/systemd/system" "$adoc"
install -m 0755 "$top/build/cmake/hrac-agent/hrac-agent" "$a/usr/bin/hrac-agent"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$a/usr/bin/hrac-agent"
install -m 0644 "$top/cfg/hrac-agent.conf" "$a/etc/sofw/hrac-agent.conf"
install -m 0644 "$top/packaging/hrac-agent.service" "$a/lib/systemd/system/hrac-agent.service"
install -m 0644 "$top/packaging/hrac-agent/README.Debian" "$adoc/README.Debian"
install -m 0755 "$top/packaging/hrac-agent/postinst" "$top/packaging/hrac-agent/prerm" \
  "$top/packaging/hrac-agent/postrm" "$a/DEBIAN/"
echo /etc/sofw/hrac-agent.conf > "$a/DEBIAN/conffiles"
agent_libs=$(shlib_depends "$a/usr/bin/hrac-agent")
pack "$a" hrac-agent <<EOF
Section: net
Priority: optional
Depends: adduser, $agent_libs
Description: SoFW HRAC: SIP phones of a LAN through an HTTP tunnel to HRAS
 hrac-agent is the SIP server of the phones in a company LAN whose firewall
 lets out nothing but web traffic. It relays their SIP and media through an
 HTTP(S) tunnel, directly or through the company proxy, to HRAS (Kamailio
 with the sofw module). "hrac-agent --check" tells whether and how the
 tunnel gets out. Runs as the systemd service hrac-agent.
EOF

rm -rf "$stage"
