#!/usr/bin/env bash
# tests/conformance/run-tests.sh - runs the v1.20 conformance tests (e2e.test from build.sh)
# against a running cluster, each test in its own e2e.test process, and summarises them.
# run.sh calls it inside the three-node cluster it brings up; it works against any cluster.
#
# Usage: run-tests.sh KUBECONFIG RESULTS_DIR
#
# Environment (all optional):
#   SKIFF_CONFORMANCE_CACHE  where build.sh put bin/e2e.test and bin/kubectl (as build.sh)
#   FOCUS         ginkgo focus (default '\[Conformance\]')
#   SKIP          ginkgo skip (default '\[Disruptive\]|NoExecuteTaintManager': the 309
#                 non-disruptive tests, as Sonobuoy's default mode)
#   SKIP_LIST     tests not run because they cannot apply to a v1.32-compatible server
#                 (default skip-list.txt beside this script; SKIP_LIST=/dev/null for none)
#   TEST_TIMEOUT  seconds per test (default 600); a hung test costs this and no more
#   PARALLEL      non-[Serial] tests run at once (default 2); [Serial] ones run alone, last
#   SUBSET        run only about this many tests, an even spread over the sorted list (the
#                 names sort by SIG, so every SIG is sampled); 0 = all (default)
#   E2E_EXTRA_ARGS more e2e.test flags, split on spaces
#
# Output: "PASS name", "FAIL name: reason", "SKIP name: reason" lines as tests finish, then
# the failures grouped by cause and "N passed, N failed, N skipped (of T) in S s".
# RESULTS_DIR: tests.txt (chosen), skipped.txt, results.txt, summary.txt, failures.txt and
# tests/NNNN/{name,log.txt,rc,result,junit_01.xml}. Exit 0 when nothing failed.
set -uo pipefail

die() { echo "# ERROR $*"; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SKIFF_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skiff-conformance}
E2E_TEST=${E2E_TEST:-$CACHE/bin/e2e.test}
KUBECTL_1_20=${KUBECTL_1_20:-$CACHE/bin/kubectl}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
PARALLEL=${PARALLEL:-2}
SUBSET=${SUBSET:-0}
FOCUS=${FOCUS:-'\[Conformance\]'}
SKIP=${SKIP-'\[Disruptive\]|NoExecuteTaintManager'}
SKIP_LIST=${SKIP_LIST:-$HERE/skip-list.txt}
PY="python3 $HERE/junit.py"
# Tests that pass only after waiting out the framework's whole 5-minute PodStartTimeout for a
# pod that must stay Pending (createHostPortPodOnNode(..., expectScheduled=false) calls
# WaitForPodNotPending and ignores its timeout): they get at least FULL_WAIT_MIN seconds even
# under a shorter TEST_TIMEOUT, or they always "time out" while the cluster did the right thing.
FULL_WAIT_TESTS='same hostPort and protocol but one using 0\.0\.0\.0 hostIP'
FULL_WAIT_MIN=420

# One e2e.test call's flags. The v1.20 framework waits in every namespace for the default
# ServiceAccount's token Secret, which servers since 1.24 no longer create: not verified.
# Start-up waits are short because every test repeats them.
common_flags() {
  read -r -a extra <<<"${E2E_EXTRA_ARGS:-}"
  FLAGS=(--kubeconfig="$KC" --provider=skeleton --ginkgo.noColor --kubectl-path="$KUBECTL_1_20"
         --e2e-verify-service-account=false --node-schedulable-timeout=2m
         --system-pods-startup-timeout=2m --system-daemonsets-startup-timeout=2m "${extra[@]}")
}

# run_one INDEX: test number INDEX of tests.txt in its own process, under TEST_TIMEOUT.
run_one() {
  local i=$1 name dir rc
  name=$(sed -n "${i}p" "$RES/tests.txt")
  dir=$RES/tests/$(printf '%04d' "$i")
  mkdir -p "$dir"
  printf '%s\n' "$name" >"$dir/name"
  common_flags
  # ginkgo v1 matches the focus against "<suite> [Top Level] <name>"; quote the name for RE2.
  local q; q=$(sed -e 's/[][\\.+*?(){}|^$]/\\&/g' <<<"$name")
  local limit=$TEST_TIMEOUT
  if grep -qE "$FULL_WAIT_TESTS" <<<"$name" && [ "$limit" -lt "$FULL_WAIT_MIN" ]; then
    limit=$FULL_WAIT_MIN
  fi
  timeout -k 30 "$limit" "$E2E_TEST" "${FLAGS[@]}" --report-dir="$dir" \
    --ginkgo.focus="\\[Top Level\\] $q\$" >"$dir/log.txt" 2>&1
  rc=$?
  echo "$rc" >"$dir/rc"
  $PY one "$dir" "$name" "$rc" "$limit" | tee "$dir/result"
}
if [ -n "${RUN_ONE_INDEX:-}" ]; then  # an xargs worker: this script again
  KC=$1; RES=$2; run_one "$RUN_ONE_INDEX"; exit 0
fi

[ $# -eq 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
KC=$(realpath "$1") || die "no kubeconfig '$1'"
RES=$2
[ -x "$E2E_TEST" ] || die "no $E2E_TEST: run tests/conformance/build.sh"
[ -x "$KUBECTL_1_20" ] || die "no $KUBECTL_1_20: run tests/conformance/build.sh"
[ -e "$RES/tests.txt" ] && die "results dir '$RES' holds a run already"
mkdir -p "$RES/list" && RES=$(realpath "$RES")
echo "# INFO $("$E2E_TEST" --version 2>/dev/null | head -n 1), kubectl $("$KUBECTL_1_20" version --client --short 2>/dev/null)"
echo "# INFO focus=$FOCUS skip=${SKIP:-<none>} parallel=$PARALLEL timeout=${TEST_TIMEOUT}s results=$RES"
START=$(date +%s)

# The tests: a ginkgo dry run honours focus and skip exactly as a real run does.
common_flags
"$E2E_TEST" "${FLAGS[@]}" --report-dir="$RES/list" --ginkgo.dryRun --ginkgo.focus="$FOCUS" \
  ${SKIP:+"--ginkgo.skip=$SKIP"} >"$RES/list/log.txt" 2>&1 || die "the dry run failed: $RES/list/log.txt"
$PY list "$RES/list" | sort >"$RES/all.txt"
ALL=$(grep -c . "$RES/all.txt")
[ "$ALL" -gt 0 ] || die "no test matches focus '$FOCUS' and skip '$SKIP'"
$PY skips "$RES/all.txt" "$SKIP_LIST" >"$RES/skipped.txt"
sed 's/^SKIP //; s/: .*//' "$RES/skipped.txt" | grep -vxF -f - "$RES/all.txt" >"$RES/tests.txt" || true
if [ "$SUBSET" -gt 0 ] && [ "$SUBSET" -lt "$(grep -c . "$RES/tests.txt")" ]; then
  # the first test of each of SUBSET equal slices of the sorted list
  awk -v n="$(grep -c . "$RES/tests.txt")" -v k="$SUBSET" \
    'NR == 1 || int((NR - 1) * k / n) != int((NR - 2) * k / n)' "$RES/tests.txt" >"$RES/subset.txt"
  mv "$RES/subset.txt" "$RES/tests.txt"
fi
# Run order: interleaved (a stride coprime to the count walks the sorted list), so that the
# tests running side by side come from different SIGs and a run stopped early is still a spread.
python3 -c '
import math, sys
t = [l for l in open(sys.argv[1]).read().split("\n") if l]
n = len(t); p = max(1, int(n * 0.382))
while math.gcd(p, n) != 1: p += 1
print("\n".join(t[(i * p) % n] for i in range(n)))' "$RES/tests.txt" >"$RES/order.txt"
mv "$RES/order.txt" "$RES/tests.txt"
TOTAL=$(grep -c . "$RES/tests.txt")
echo "# INFO $ALL tests chosen, $(grep -c . "$RES/skipped.txt") on the skip list, $TOTAL to run ($(grep -c '\[Serial\]' "$RES/tests.txt") [Serial])"
cat "$RES/skipped.txt"

export SKIFF_CONFORMANCE_CACHE=$CACHE E2E_TEST KUBECTL_1_20 TEST_TIMEOUT E2E_EXTRA_ARGS=${E2E_EXTRA_ARGS:-}
grep -vn '\[Serial\]' "$RES/tests.txt" | cut -d: -f1 |
  xargs -r -P "$PARALLEL" -I{} env RUN_ONE_INDEX={} bash "$0" "$KC" "$RES"
for i in $(grep -n '\[Serial\]' "$RES/tests.txt" | cut -d: -f1); do run_one "$i"; done

cat "$RES"/tests/*/result "$RES/skipped.txt" >"$RES/results.txt" 2>/dev/null
PASSED=$(grep -c '^PASS ' "$RES/results.txt")
FAILED=$(grep -c '^FAIL ' "$RES/results.txt")
SKIPPED=$(grep -c '^SKIP ' "$RES/results.txt")
$PY group "$RES/results.txt" >"$RES/failures.txt"
{
  echo "# failures grouped by cause:"
  cat "$RES/failures.txt"
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (of $ALL chosen; $TOTAL run) in $(( $(date +%s) - START )) s"
} | tee "$RES/summary.txt"
[ "$FAILED" -eq 0 ]
