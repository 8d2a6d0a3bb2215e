#!/usr/bin/env bash
# Shared by the e2e suites that run real nodes (tests/e2e/agent, tests/e2e/cluster): the binaries
# under test, the checks that they and kubectl are there and that we are root, and the one
# throwaway network+mount+PID namespace a whole test runs in (so the host's network is never
# touched and every process the test starts dies with the namespace's init).
# Sourced by a suite's lib.sh; needs SKIFF_BINARY_DIR (set by ctest).
B=${SKIFF_BINARY_DIR:?}
MASTER=${SKIFF_E2E_MASTER:-$B/master-lite/skiff-master}
AGENT=$B/agent/skiff-agent
IMAGE=$B/packaging/busybox/busybox-oci.tar

# k ARGS...: kubectl that cannot hang a test.
k() { timeout 60 kubectl "$@"; }
# until_ok SECONDS CMD...: retries CMD every 0.5 s until it succeeds or SECONDS pass.
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  while ! "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}

# e2e_node_checks SUITE: fails the test early, with the reason, when it cannot run here.
e2e_node_checks() {
  [ -x "$MASTER" ] || { echo "FAIL: no skiff-master at $MASTER"; exit 1; }
  [ -x "$AGENT" ] || { echo "FAIL: no skiff-agent at $AGENT"; exit 1; }
  [ -f "$IMAGE" ] || { echo "FAIL: no busybox image at $IMAGE"; exit 1; }
  command -v kubectl >/dev/null || { echo "FAIL: kubectl not installed"; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "FAIL: the $1 e2e tests need root (namespaces, cgroups)"; exit 1; }
}

# e2e_enter_namespaces FLAG ARGS...: re-executes the test script inside a new network, mount
# (private propagation) and PID namespace; FLAG (an environment variable) marks the second run.
e2e_enter_namespaces() {
  local flag=$1
  shift
  if [ -z "${!flag:-}" ]; then
    export "$flag=1"
    exec unshare --net --mount --propagation private --pid --fork --mount-proc -- "$0" "$@"
  fi
}
