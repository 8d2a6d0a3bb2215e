#!/usr/bin/env bash
# Shared by the e2e suites that run real nodes (tests/e2e/agent, tests/e2e/cluster): the binaries
# under test, the checks that they and kubectl are there and that we are root, and the one
# throwaway network+mount+PID namespace a whole test runs in (so the host's network is never
# touched and every process the test starts dies with the namespace's init).
# Sourced by a suite's lib.sh; needs SKIFF_BINARY_DIR (set by ctest).
B=${SKIFF_BINARY_DIR:?}
. "$(dirname "${BASH_SOURCE[0]}")/manifests.sh"
MASTER=${SKIFF_E2E_MASTER:-$B/master-lite/skiff-master}
AGENT=$B/agent/skiff-agent
IMAGE=$B/packaging/busybox/busybox-oci.tar

# The tests check skiff, not how full this machine's disk is. kubelet's default hard thresholds
# (imagefs.available<15%, nodefs.available<10%) put a node on a CI machine with a disk 86 % full
# under DiskPressure: tainted, no test pod schedules (CI failed exactly so). Test agents evict
# on disk only below 512 MiB free; memory keeps the default, so allocatable is still capacity
# minus 100Mi. A test of eviction passes its own --eviction-hard, which replaces this one.
E2E_EVICTION_HARD='memory.available<100Mi,nodefs.available<512Mi,imagefs.available<512Mi,nodefs.inodesFree<5%'
# e2e_eviction_flags ARGS...: the --eviction-hard a test agent gets unless ARGS bring their own.
e2e_eviction_flags() {
  local a
  for a in "$@"; do [ "$a" = --eviction-hard ] && return 0; done
  echo "--eviction-hard=$E2E_EVICTION_HARD"
}

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

# e2e_node_suite SUITE FLAG ARGS...: what a node suite's lib.sh does first: the checks, the
# namespaces (FLAG marks the second run), then T (the work dir, printed with SKIFF_E2E_KEEP), CG
# (the test's cgroup name), PATH with the shims and KUBECONFIG (the admin's, in T).
e2e_node_suite() {
  local suite=$1 flag=$2
  shift 2
  e2e_node_checks "$suite"
  e2e_enter_namespaces "$flag" "$@"
  T=$(mktemp -d "/tmp/skiff-e2e-$suite.XXXXXX")
  [ -n "${SKIFF_E2E_KEEP:-}" ] && echo "workdir $T"
  CG=skiff-e2e-$(basename "$T")
  export PATH=$B/runtime:$PATH
  export KUBECONFIG=$T/admin.kubeconfig
}

# e2e_remove_cgroups DIR...: kills what still runs in the test's cgroup subtrees (containers
# outlive their agent by design; here they would die with the PID namespace, but their cgroups
# can go only once they are gone) and removes the subtrees, deepest first. DIRs that do not
# exist (an unmatched glob) are skipped.
e2e_remove_cgroups() {
  local d
  for d in "$@"; do
    [ -d "$d" ] || continue
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  done
  sleep 0.5
  for d in "$@"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
}

# e2e_unmount_below DIR: everything mounted below DIR (rootfs overlays, namespace bind mounts),
# deepest first; the mount namespace dies with the test anyway, but rm needs them gone now.
e2e_unmount_below() {
  awk -v t="$1" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
}

# The bootstrap token agents join with (kubeadm's form), and the CA hash they pin.
TOKEN=abcdef.0123456789abcdef
ca_hash() {
  kubectl config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
    base64 -d | openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
    sha256sum | cut -d' ' -f1
}
# create_bootstrap_token: TOKEN's Secret in kube-system.
create_bootstrap_token() {
  cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-abcdef, namespace: kube-system}
type: bootstrap.kubernetes.io/token
# data, not stringData: base64 of abcdef / 0123456789abcdef / true / true
data: {token-id: YWJjZGVm, token-secret: MDEyMzQ1Njc4OWFiY2RlZg==, usage-bootstrap-authentication: dHJ1ZQ==, usage-bootstrap-signing: dHJ1ZQ==}
Y
}
