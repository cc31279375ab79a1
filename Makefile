# SoFW's Debian packages: `make deb` builds everything (scripts/build.sh)
# and packs build/deb/kamailio-sofw-module_<version>_<arch>.deb and
# build/deb/hrac-agent_<version>_<arch>.deb (packaging/README.md).
# Building and testing otherwise: scripts/build.sh, scripts/test.sh;
# sofw.so alone: make -f Makefile.kamailio.

.PHONY: deb
deb:
	packaging/build-debs.sh
