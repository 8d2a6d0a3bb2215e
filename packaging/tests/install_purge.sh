#!/usr/bin/env bash
# Installs the two .debs on this machine, checks what they put where, verifies the installed
# systemd units, exercises remove (keeps user data) and purge (removes everything), and proves
# nothing is left behind by comparing the file lists of /etc /usr /var/lib /lib/systemd taken
# before the install and after the purge. PID 1 need not be systemd: nothing is started.
# Usage: install_purge.sh [DEB_DIR]   (default: $SKIFF_SOURCE_DIR/build/debs, from scripts/build-debs)
set -euo pipefail
SRC=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DEBS=${1:-${SKIFF_DEB_DIR:-$SRC/build/debs}}
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (dpkg -i)"; exit 1; }
agent_deb=$(ls -t "$DEBS"/skiff-agent_*.deb 2>/dev/null | head -1)
master_deb=$(ls -t "$DEBS"/skiff-master_*.deb 2>/dev/null | head -1)
[ -n "$agent_deb" ] && [ -n "$master_deb" ] || { echo "FAIL: no .debs in $DEBS (run scripts/build-debs)"; exit 1; }
for p in skiff-agent skiff-master; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
    echo "FAIL: $p is already installed here; refusing to touch an existing installation"; exit 1
  fi
done

T=$(mktemp -d /tmp/skiff-install-purge.XXXXXX)
installed=0
cleanup() {
  # Never leave the packages on the host, also when a check fails.
  [ "$installed" = 1 ] && dpkg --purge skiff-agent skiff-master >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
step() { printf '\n== %s\n' "$*"; }

# Paths only (content changes of unrelated files do not matter); dpkg's and apt's own
# bookkeeping and caches churn on every dpkg run and are not package payload.
snapshot() {
  find /etc /usr /var/lib /lib/systemd -xdev \
    \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/lib/ucf/cache \) -prune -o -print 2>/dev/null |
    sort
}

step "packages"
ls -l "$agent_deb" "$master_deb"
dpkg-deb -f "$agent_deb" Package Version Architecture Depends Recommends
dpkg-deb -f "$master_deb" Package Version Architecture Depends Recommends Suggests
snapshot >"$T/before"

step "dpkg -i"
installed=1
dpkg -i "$master_deb" "$agent_deb"

step "installed files"
for f in /usr/bin/skiff-agent /usr/bin/skiff-master /usr/lib/skiff/skiff-shim /usr/lib/skiff/skiff-init \
         /usr/share/skiff/images/busybox-oci.tar /etc/skiff/agent.yaml /etc/default/skiff-agent \
         /etc/default/skiff-master /lib/systemd/system/skiff-agent.service \
         /lib/systemd/system/skiff-master.service /usr/share/man/man1/skiff-agent.1.gz \
         /usr/share/man/man1/skiff-master.1.gz; do
  [ -e "$f" ] || fail "missing $f"
  echo "  ok $f"
done
for d in /var/lib/skiff/agent /var/lib/skiff/agent/images /var/lib/skiff/runtime /var/lib/skiff/master /etc/skiff/manifests /var/log/pods; do
  [ -d "$d" ] || fail "missing directory $d"
  echo "  ok $d/ ($(stat -c %a "$d"))"
done
echo "  conffiles:"
dpkg-query -W -f='${Conffiles}\n' skiff-agent skiff-master | sed '/^$/d'
dpkg-query -W -f='${Conffiles}\n' skiff-agent | grep -q ' /etc/skiff/agent.yaml ' || fail "agent.yaml is not a conffile"
for u in skiff-agent skiff-master; do
  [ -L /etc/systemd/system/multi-user.target.wants/$u.service ] || fail "$u.service not enabled"
  echo "  ok $u.service enabled (multi-user.target.wants)"
done
/usr/bin/skiff-agent --version
/usr/bin/skiff-master --version
tar -tf /usr/share/skiff/images/busybox-oci.tar | grep -q '^./index.json$' || fail "busybox image is not an OCI layout"

step "systemd-analyze verify (installed units)"
out=$(systemd-analyze verify /lib/systemd/system/skiff-agent.service /lib/systemd/system/skiff-master.service 2>&1 || true)
echo "${out:-(no findings)}"
[ -z "$out" ] || fail "systemd-analyze verify reported problems"

step "dpkg -i again (maintainer scripts are idempotent)"
dpkg -i "$master_deb" "$agent_deb"

step "dpkg --remove keeps user data"
echo "cluster data" >/var/lib/skiff/master/user-data
echo "node data" >/var/lib/skiff/agent/user-data
echo "edited" >>/etc/skiff/agent.yaml
dpkg --remove skiff-agent skiff-master
[ -f /var/lib/skiff/master/user-data ] && [ -f /var/lib/skiff/agent/user-data ] || fail "remove deleted user data"
[ -f /etc/skiff/agent.yaml ] || fail "remove deleted a conffile"
[ ! -e /usr/bin/skiff-agent ] || fail "remove left the binary"
echo "  ok: /var/lib/skiff data and the edited /etc/skiff/agent.yaml survive remove"

step "dpkg --purge"
dpkg --purge skiff-agent skiff-master
installed=0
snapshot >"$T/after"

step "leftovers (file list of /etc /usr /var/lib /lib/systemd, before vs after)"
echo "  before: $(wc -l <"$T/before") paths, after: $(wc -l <"$T/after") paths"
if ! diff "$T/before" "$T/after" >"$T/diff"; then
  cat "$T/diff"
  fail "the file lists differ"
fi
for p in /etc/skiff /var/lib/skiff /var/log/pods /etc/default/skiff-agent /etc/default/skiff-master; do
  [ ! -e "$p" ] || fail "$p left behind"
done
echo "  identical: nothing left behind"
echo "PASS"
