#!/usr/bin/env bash
# Shared by the multi-node e2e tests: skiff-master and three agents (node-a, node-b, node-c) on a
# small simulated LAN, driven by the real kubectl.
#
# Layout (everything inside one `unshare --net --mount --pid` created for the test, so the host's
# network is never touched and every process dies with the PID namespace's init):
#
#   outer netns:   lan0 bridge 10.98.0.1/24  <- skiff-master listens here (and on 127.0.0.1)
#     |-- veth --> netns of node-a: eth0 10.98.0.11  <- skiff-agent --hostname-override node-a
#     |-- veth --> netns of node-b: eth0 10.98.0.12
#     `-- veth --> netns of node-c: eth0 10.98.0.13
#
# Each node's network namespace is held by a `sleep` started with `unshare --net` (no
# /run/netns entries needed); agents run in it through `nsenter --net=/proc/<pid>/ns/net`, so
# they keep the test's mount namespace and the host's cgroup mounts. Each agent has its own
# root dir, runtime state, pod logs, local-path storage root ($T/<node>/storage) and cgroup parent
# (unique per node and per test); cleanup()
# removes those cgroups and the temporary directory, also after a failure.
# SKIFF_E2E_KEEP=1 prints the work dir and keeps the daemons' logs in /tmp/skiff-e2e-cluster-logs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../node_env.sh"
e2e_node_suite cluster SKIFF_E2E_CLUSTER_INNS "$@"

LAN=10.98.0
MASTER_IP=$LAN.1
PORT=6443
NODES=(node-a node-b node-c)
declare -A NODE_IP=([node-a]=$LAN.11 [node-b]=$LAN.12 [node-c]=$LAN.13)
declare -A NS_PID=() AGENT_PID=()
MASTER_PID=""
MASTER_FLAGS=()

cleanup() {
  set +e
  local n
  for n in "${!AGENT_PID[@]}"; do kill "${AGENT_PID[$n]}" 2>/dev/null; done
  for n in "${!AGENT_PID[@]}"; do wait "${AGENT_PID[$n]}" 2>/dev/null; done
  [ -n "$MASTER_PID" ] && kill "$MASTER_PID" 2>/dev/null && wait "$MASTER_PID" 2>/dev/null
  e2e_remove_cgroups /sys/fs/cgroup/*/"$CG"-node-* /sys/fs/cgroup/unified/"$CG"-node-*
  for n in "${!NS_PID[@]}"; do kill "${NS_PID[$n]}" 2>/dev/null; done
  e2e_unmount_below "$T"
  if [ -n "${SKIFF_E2E_KEEP:-}" ]; then mkdir -p /tmp/skiff-e2e-cluster-logs && cp "$T"/*.log /tmp/skiff-e2e-cluster-logs/ 2>/dev/null; fi
  rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  kubectl get nodes -o wide 2>/dev/null
  kubectl get pods -A -o wide 2>/dev/null
  local n
  for n in "${NODES[@]}"; do
    echo "--- $n agent log (tail)"; tail -25 "$T/$n.log" 2>/dev/null || true
  done
  echo "--- master log (tail)"; tail -25 "$T/master.log" 2>/dev/null || true
  exit 1
}
step() { echo "== [$SECONDS s] $*"; }
# on NODE CMD...: runs CMD in NODE's network namespace (its host network, not a pod's).
on() { local n=$1; shift; nsenter --net=/proc/"${NS_PID[$n]}"/ns/net -- "$@"; }

own_netns() { [ "$(readlink /proc/"$1"/ns/net)" != "$(readlink /proc/$$/ns/net)" ]; }
# The LAN: a bridge in the test's namespace and one veth per node into the node's namespace.
start_lan() {
  ip link set lo up
  ip link add lan0 type bridge
  ip addr add $MASTER_IP/24 dev lan0
  ip link set lan0 up
  local n
  for n in "${NODES[@]}"; do
    unshare --net -- sleep infinity &
    NS_PID[$n]=$!
    # unshare may not have called unshare(2) yet: wait until the holder has its own netns.
    until_ok 10 own_netns "${NS_PID[$n]}" || fail "no network namespace for $n"
    ip link add "v-$n" type veth peer name eth0 netns "${NS_PID[$n]}"
    ip link set "v-$n" master lan0 up
    on "$n" ip link set lo up
    on "$n" ip addr add "${NODE_IP[$n]}/24" dev eth0
    on "$n" ip link set eth0 up
    on "$n" ip route add default via $MASTER_IP
    # A host's own nftables tables (Docker through iptables-nft, firewalld) before the agent runs.
    # Kept in $T/<node>.foreign-tables as loaded, for the test to compare with later.
    if [ -n "${FOREIGN_NFT_RULESET:-}" ]; then
      on "$n" nft -f "$FOREIGN_NFT_RULESET" || fail "cannot load $FOREIGN_NFT_RULESET into $n"
      foreign_tables "$n" >"$T/$n.foreign-tables"
    fi
  done
}

# foreign_tables NODE: the node's nftables tables that are not skiff's, listed.
foreign_tables() {
  local fam name
  on "$1" nft list tables | grep -v ' skiff' | while read -r _ fam name; do
    on "$1" nft list table "$fam" "$name"
  done
}

# start_master [extra flags...]: all addresses of the test's namespace (lan0 and loopback),
# advertised as 10.98.0.1. MASTER_FLAGS are remembered for restart_master.
start_master() {
  MASTER_FLAGS=("$@")
  "$MASTER" --data-dir "$T/master" --kubeconfig-out "$KUBECONFIG" --secure-port $PORT \
    --bind-address 0.0.0.0 --advertise-address $MASTER_IP "${MASTER_FLAGS[@]}" >>"$T/master.log" 2>&1 &
  MASTER_PID=$!
  until_ok 30 kubectl get --raw /readyz || fail "skiff-master not ready"
}

# start_agent NODE [extra flags...]: joins with the bootstrap token the first time; later starts
# use the credentials stored in the node's root dir.
# Image GC is off (--image-gc-high-threshold 100): the preloaded busybox cannot be pulled again,
# and this host's disk reads over 80 % used to a kubelet (reserved blocks).
start_agent() {
  local n=$1; shift
  local d=$T/$n join=()
  if [ ! -s "$d/agent/kubelet.kubeconfig" ]; then
    # AGENT_SERVERS: several masters, comma separated (the first answering joins).
    join=(--server "${AGENT_SERVERS:-https://$MASTER_IP:$PORT}" --token $TOKEN --ca-cert-hash "sha256:$(ca_hash)")
  fi
  mkdir -p "$d/manifests"
  nsenter --net=/proc/"${NS_PID[$n]}"/ns/net -- "$AGENT" --hostname-override "$n" "${join[@]}" \
    --node-ip "${NODE_IP[$n]}" --root-dir "$d/agent" --runtime-root "$d/runtime" \
    --pod-log-dir "$d/logs" --pod-manifest-path "$d/manifests" --runtime-cgroup-parent "$CG-$n" \
    --storage-root "$d/storage" --preload-image "$IMAGE" --image-gc-high-threshold 100 \
    $(e2e_eviction_flags "$@") "$@" \
    >>"$T/$n.log" 2>&1 &
  AGENT_PID[$n]=$!
}

node_ready() {
  [ "$(kubectl get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
# The STATUS column exactly as `kubectl get nodes` prints it.
node_status_column() { kubectl get node "$1" --no-headers | awk '{print $2}'; }

# start_cluster [master flags...]: LAN, master, three agents, all nodes Ready.
start_cluster() {
  start_lan
  start_master "$@"
  create_bootstrap_token
  local n
  for n in "${NODES[@]}"; do  # the LAN works: each node reaches the API server
    until_ok 10 on "$n" curl -ks -m 2 "https://$MASTER_IP:$PORT/readyz" || fail "$n cannot reach $MASTER_IP:$PORT"
  done
  for n in "${NODES[@]}"; do start_agent "$n"; done
  for n in "${NODES[@]}"; do
    until_ok 90 node_ready "$n" || fail "$n did not become Ready"
  done
  step "cluster up: ${NODES[*]} Ready"
}

# pods_by_node SELECTOR: "name node phase ready deletionTimestamp" lines of the pods matching
# SELECTOR (the last field is empty unless the pod is being deleted).
pods_by_node() {
  kubectl get pods -l "$1" -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase} {.status.conditions[?(@.type=="Ready")].status}x {.metadata.deletionTimestamp}{"\n"}{end}'
}
# running_count SELECTOR [NODE]: Running and Ready pods not being deleted (on NODE when given).
running_count() {
  pods_by_node "$1" | awk -v n="${2:-}" '$3 == "Running" && $4 == "Truex" && $5 == "" && (n == "" || $2 == n)' | wc -l
}
# spread SELECTOR: the distinct nodes of those pods, sorted, space separated.
spread() {
  pods_by_node "$1" | awk '$3 == "Running" && $4 == "Truex" && $5 == "" {print $2}' | sort -u | xargs
}
want_running() { [ "$(running_count "$1" "${3:-}")" -ge "$2" ]; }

# A Deployment of busybox web servers answering GET / with their pod name.
web_deployment() {  # NAME REPLICAS
  deployment_yaml "$1" "$2" \
    '["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]' \
    'ports: [{containerPort: 8080}]' 'readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}' |
    k apply -f - >/dev/null
}
