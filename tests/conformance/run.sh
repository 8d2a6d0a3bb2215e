#!/usr/bin/env bash
# tests/conformance/run.sh - the upstream v1.20 conformance suite against a three-node skiff
# cluster: brings the cluster up with the e2e cluster harness (tests/e2e/cluster/lib.sh: master
# and three agents in throwaway namespaces, the host's network untouched), preloads the test
# images on every node, runs the tests with run-tests.sh and keeps the summary, the JUnit
# files and the daemons' logs.
#
# Usage (root, from anywhere; after tests/conformance/build.sh --deps and images/build-images.sh):
#   tests/conformance/run.sh [RESULTS_DIR]
#     RESULTS_DIR default $SKIFF_CONFORMANCE_CACHE/results/<UTC date-time>
# Environment: SKIFF_BINARY_DIR (the skiff build, default <repo>/build/ci), SKIFF_CONFORMANCE_CACHE,
#   everything run-tests.sh reads (PARALLEL, TEST_TIMEOUT, SUBSET, FOCUS, SKIP, SKIP_LIST), and
#   STORAGE: sqlite (the default) or etcd (a one-member etcd in the test's namespace, Debian's
#   etcd-server, and skiff-master on it).
# Exit status: 0 when every test run passed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export SKIFF_BINARY_DIR=${SKIFF_BINARY_DIR:-$REPO/build/ci}
export SKIFF_CONFORMANCE_CACHE=${SKIFF_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skiff-conformance}
C=$SKIFF_CONFORMANCE_CACHE
if [ -z "${SKIFF_CONFORMANCE_RESULTS:-}" ]; then
  export SKIFF_CONFORMANCE_RESULTS=${1:-$C/results/$(date -u +%Y%m%d-%H%M%S)}
fi
RESULTS=$SKIFF_CONFORMANCE_RESULTS
IMAGES=(pause busybox agnhost kitten nautilus sample-apiserver nonewprivs jessie-dnsutils httpd nginx etcd)
if [ -z "${SKIFF_E2E_CLUSTER_INNS:-}" ]; then  # checks before the namespaces are entered
  for b in e2e.test kubectl; do
    [ -x "$C/bin/$b" ] || { echo "FAIL: no $C/bin/$b: run tests/conformance/build.sh --deps"; exit 1; }
  done
  for i in "${IMAGES[@]}"; do
    [ -f "$C/images/$i.tar" ] || { echo "FAIL: no image $C/images/$i.tar: run tests/conformance/images/build-images.sh"; exit 1; }
  done
fi
. "$REPO/tests/e2e/cluster/lib.sh"   # re-executes this script in its own namespaces

mkdir -p "$RESULTS/cluster"
declare -A PID=()  # processes this script starts itself (etcd), stopped by pid at exit
keep_logs() {
  set +e
  cp "$T"/*.log "$RESULTS/cluster/" 2>/dev/null
  local p
  for p in "${PID[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  cleanup
}
trap keep_logs EXIT

# Every node gets the archives in its air-gap drop directory (<root-dir>/images) before its
# agent starts, so they are in the node's store when it registers; hard links when possible.
start_lan
if [ "${STORAGE:-sqlite}" = etcd ]; then
  . "$REPO/tests/e2e/etcd/members.sh"
  etcd_cluster e1
  start_master --storage etcd --etcd-servers "$SERVERS"
else
  start_master
fi
create_bootstrap_token
for n in "${NODES[@]}"; do
  mkdir -p "$T/$n/agent/images"
  for i in "${IMAGES[@]}"; do
    ln "$C/images/$i.tar" "$T/$n/agent/images/$i.tar" 2>/dev/null || cp "$C/images/$i.tar" "$T/$n/agent/images/"
  done
  # start_agent turns image GC off: the test images cannot be pulled here, and this host's disk
  # reads 83 % used to a kubelet at rest (252 G size, 97 G used + available); during a run it
  # crossed the 85 % default and GC removed agnhost from every node (ImagePullBackOff after that).
  start_agent "$n"
done
for n in "${NODES[@]}"; do until_ok 120 node_ready "$n" || fail "$n did not become Ready"; done
step "cluster up: ${NODES[*]} Ready"
# The API server dials pods itself, as kube-apiserver on a cluster's network does: admission
# webhooks, aggregated APIs and pods/services proxy reach pod IPs. The master is no node here, so
# give its namespace a route to each node's podCIDR via that node.
for n in "${NODES[@]}"; do
  cidr=$(kubectl get node "$n" -o jsonpath='{.spec.podCIDR}')
  [ -n "$cidr" ] || fail "$n has no podCIDR"
  ip route replace "$cidr" via "${NODE_IP[$n]}"
done

# The names of test/utils/image/manifest.go, read back from the archives' index.json.
WANT=$(for i in "${IMAGES[@]}"; do
  tar -xOf "$C/images/$i.tar" ./index.json | python3 -c 'import json,sys; [print(m["annotations"]["io.containerd.image.name"]) for m in json.load(sys.stdin)["manifests"]]'
done | sort)
node_has_images() {
  local have
  have=$(kubectl get node "$1" -o jsonpath='{range .status.images[*]}{range .names[*]}{@}{"\n"}{end}{end}' | sort -u)
  [ -z "$(comm -23 <(echo "$WANT") <(echo "$have"))" ]
}
for n in "${NODES[@]}"; do
  until_ok 300 node_has_images "$n" || fail "$n does not list every test image in its status"
done
step "images on every node: $(echo "$WANT" | wc -l) names"
kubectl get nodes -o wide >"$RESULTS/cluster/nodes.txt"

rc=0
"$HERE/run-tests.sh" "$KUBECONFIG" "$RESULTS" || rc=$?
step "results in $RESULTS"
exit "$rc"
