#!/usr/bin/env bash
# Regenerates kamailio-mod-sofw/README from the module's DocBook sources
# (kamailio-mod-sofw/doc/sofw.xml, which includes sofw_admin.xml) the way
# Kamailio builds its module READMEs: the DocBook XSL (XHTML) stylesheets
# through xsltproc, then the HTML dumped as text by lynx.
#
#   scripts/gen-module-readme.sh           # validate the XML, rewrite README
#   scripts/gen-module-readme.sh --check   # exit 1 if README is out of date
#
# Installs xsltproc, docbook-xsl, docbook-xml, lynx and libxml2-utils with
# apt-get when they are missing (that needs root); does nothing to them
# otherwise. No network access besides that: the DTD and the stylesheets
# come from the local XML catalog (--nonet).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mod="$top/kamailio-mod-sofw"
book="$mod/doc/sofw.xml"
readme="$mod/README"

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

packages=(xsltproc docbook-xsl docbook-xml lynx libxml2-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "gen-module-readme.sh: needs ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "gen-module-readme.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The README stylesheet: the layout of the READMEs shipped with Kamailio's
# modules (numbered sections, tables of contents for the book, the chapter
# and each top-level section, a list of examples; program listings without
# the line break after the opening tag or the white space before the
# closing one). Run on a module's doc/ in the Debian kamailio source it
# reproduces that module's README.
cat > "$tmp/readme.xsl" <<'XSL'
<?xml version="1.0"?>
<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">
  <xsl:import href="http://docbook.sourceforge.net/release/xsl/current/xhtml/docbook.xsl"/>

  <xsl:param name="section.autolabel">1</xsl:param>
  <xsl:param name="section.label.includes.component.label">0</xsl:param>
  <xsl:param name="generate.toc">book toc,title,figure,table,example chapter toc,title section toc qandaset toc</xsl:param>
  <xsl:param name="toc.section.depth">4</xsl:param>
  <xsl:param name="generate.section.toc.level">1</xsl:param>

  <xsl:template match="programlisting/text()|screen/text()|literallayout/text()">
    <xsl:variable name="head">
      <xsl:choose>
        <xsl:when test="not(preceding-sibling::node())">
          <xsl:call-template name="drop-leading-newlines">
            <xsl:with-param name="s" select="."/>
          </xsl:call-template>
        </xsl:when>
        <xsl:otherwise><xsl:value-of select="."/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="not(following-sibling::node())">
        <xsl:call-template name="drop-trailing-space">
          <xsl:with-param name="s" select="$head"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$head"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="drop-leading-newlines">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="starts-with($s, '&#10;') or starts-with($s, '&#13;')">
        <xsl:call-template name="drop-leading-newlines">
          <xsl:with-param name="s" select="substring($s, 2)"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="drop-trailing-space">
    <xsl:param name="s"/>
    <xsl:variable name="last" select="substring($s, string-length($s), 1)"/>
    <xsl:choose>
      <xsl:when test="string-length($s) &gt; 0 and
                      ($last = '&#10;' or $last = '&#13;' or $last = ' ' or $last = '&#9;')">
        <xsl:call-template name="drop-trailing-space">
          <xsl:with-param name="s" select="substring($s, 1, string-length($s) - 1)"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
XSL

# Valid DocBook 4.4 first (the DTD from docbook-xml, via the catalog).
xmllint --nonet --xinclude --postvalid --noout "$book"

xsltproc --nonet --novalid --xinclude "$tmp/readme.xsl" "$book" > "$tmp/sofw.html"
LC_ALL=C.UTF-8 lynx -nolist -display_charset=utf-8 -width=80 -force_html \
  -dump "$tmp/sofw.html" > "$tmp/README"

if [ $check = 1 ]; then
  if ! cmp -s "$tmp/README" "$readme"; then
    echo "gen-module-readme.sh: $readme is out of date; run $0" >&2
    exit 1
  fi
  exit 0
fi
install -m644 "$tmp/README" "$readme"
echo "gen-module-readme.sh: wrote $readme" >&2
