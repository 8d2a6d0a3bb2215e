#!/usr/bin/env bash
# Shared by the agent e2e tests: skiff-master on loopback and one `skiff-agent --hostname-override
# node-1`, both inside a fresh network, mount and PID namespace created for the test
# (unshare -n -m -p). The host's network is never touched: the node's address lives on a dummy
# link inside the namespace, the pod bridge and iptables rules too. When the test ends the PID
# namespace's init exits, so the kernel kills every process the test started (master, agent,
# shims, containers); mounts go with the mount namespace; cleanup() removes the throwaway
# cgroup subtree and the temporary directory.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../node_env.sh"
e2e_node_suite agent SKIFF_E2E_INNS "$@"
MASTER_PID=""; AGENT_PID=""

cleanup() {
  set +e
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  [ -n "$MASTER_PID" ] && kill "$MASTER_PID" 2>/dev/null && wait "$MASTER_PID" 2>/dev/null
  e2e_remove_cgroups /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/unified/"$CG"
  e2e_unmount_below "$T"
  if [ -n "${SKIFF_E2E_KEEP:-}" ]; then cp "$T"/*.log /tmp/ 2>/dev/null; fi
  rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- agent log (tail)"; tail -40 "$T/agent.log" 2>/dev/null || true
  echo "--- master log (tail)"; tail -15 "$T/master.log" 2>/dev/null || true
  exit 1
}
step() { echo "== $*"; }

NODE_IP=10.99.0.1
node_links() {
  ip link set lo up
  # The node's address on a veth pair inside the namespace (no dummy module on every host).
  ip link add skiff-e2e0 type veth peer name skiff-e2e1
  ip addr add $NODE_IP/24 dev skiff-e2e0
  ip link set skiff-e2e0 up
  ip link set skiff-e2e1 up
}

start_master() {
  node_links
  PORT=6443
  "$MASTER" --data-dir "$T/master" --kubeconfig-out "$KUBECONFIG" --secure-port $PORT \
    --bind-address 127.0.0.1 >"$T/master.log" 2>&1 &
  MASTER_PID=$!
  until_ok 30 kubectl get --raw /readyz || fail "skiff-master not ready"
}

start_agent() {  # extra flags...
  if [ ! -s "$T/agent/kubelet.kubeconfig" ]; then
    create_bootstrap_token
    # AGENT_SERVERS: several masters, comma separated (the first joins).
    JOIN=(--server "${AGENT_SERVERS:-https://127.0.0.1:$PORT}" --token $TOKEN
          --ca-cert-hash "sha256:$(ca_hash)")
  else
    JOIN=()
  fi
  ${SKIFF_E2E_AGENT_WRAP:-} "$AGENT" --hostname-override node-1 "${JOIN[@]}" --node-ip $NODE_IP \
    --root-dir "$T/agent" --runtime-root "$T/runtime" --pod-log-dir "$T/logs" \
    --pod-manifest-path "$T/manifests" --runtime-cgroup-parent "$CG" \
    --preload-image "$IMAGE" $(e2e_eviction_flags "$@") "$@" >>"$T/agent.log" 2>&1 &
  AGENT_PID=$!
}

node_ready() {
  [ "$(kubectl get node node-1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

start_cluster() {
  start_master
  start_agent "$@"
  until_ok 60 node_ready || fail "node-1 did not become Ready"
}

pod_phase() { kubectl get pod "$1" -o jsonpath='{.status.phase}'; }
pod_running() { [ "$(pod_phase "$1")" = Running ]; }
# running_with SELECTOR N: exactly N pods matching the label selector are Running.
running_with() {
  [ "$(kubectl get pods -l "$1" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c Running)" = "$2" ]
}
# busybox_pod NAME COMMAND [RESOURCES]: the manifest of a pod NAME with one container `c` of the
# preloaded busybox running COMMAND (a YAML flow sequence), with RESOURCES (a flow mapping).
busybox_pod() {
  local resources=${3:-"{}"}
  cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: $2
    resources: $resources
Y
}
