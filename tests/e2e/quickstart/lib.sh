# Shared by the e2e tests that bring up scripts/quickstart under their own name with the built
# binaries (so a user's quickstart on the same machine is not touched). Sourced first:
#   . "${SKIFF_SOURCE_DIR:?}/tests/e2e/quickstart/lib.sh" <quickstart name>
# It needs root (netns, cgroups), sets B and S (build and source dirs), QS (the script), NS (the
# quickstart's name: its netns and /run/$NS), KC (its admin kubeconfig) and OUT (a temp file for
# the quickstart's output), and on exit takes the quickstart down and removes OUT. A test with
# more to clean up sets its own EXIT trap that calls qs_cleanup; one wanting other failure output
# defines its own fail after sourcing.
set -euo pipefail
B=${SKIFF_BINARY_DIR:?}
S=${SKIFF_SOURCE_DIR:?}
. "$S/tests/e2e/manifests.sh"
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (netns, cgroups)"; exit 1; }
export SKIFF_QUICKSTART_NAME=${1:?quickstart name} SKIFF_QUICKSTART_SKIP_DEPS=1 SKIFF_QUICKSTART_BIN_DIR=$B
QS=$S/scripts/quickstart
NS=$SKIFF_QUICKSTART_NAME
KC=/run/$NS/admin.kubeconfig
OUT=$(mktemp "/tmp/$NS.XXXXXX")
qs_cleanup() { "$QS" --down >/dev/null 2>&1 || true; rm -f "$OUT"; }
trap qs_cleanup EXIT

fail() { echo "FAIL: $*"; for l in master agent; do echo "--- $l log"; tail -20 "/run/$NS/$l.log" 2>/dev/null; done; exit 1; }
# qs_up: bring the quickstart up (its output in OUT, printed if it fails).
qs_up() { "$QS" >"$OUT" 2>&1 || { cat "$OUT"; fail "quickstart failed"; }; }
# K: kubectl as the quickstart's admin, from its network namespace.
K() { ip netns exec "$NS" kubectl --kubeconfig "$KC" --request-timeout 30s "$@"; }
# until_ok SECONDS CMD...: retry CMD each second until it succeeds; 1 once SECONDS have passed.
until_ok() { local t=$1; shift; local end=$((SECONDS + t)); until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 1; done; }
