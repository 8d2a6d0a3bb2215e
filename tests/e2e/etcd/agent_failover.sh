#!/usr/bin/env bash
# A node with two masters (one etcd): `skiff-agent --server https://m1,https://m2`. kill -9 the
# master the agent talks to, which also leads the scheduler and controllers: the other takes the
# leases over (the time is printed), the agent moves to it (its log says so), the node's Lease
# keeps being renewed and the node stays Ready, and Deployments created before and during the
# kill reach their replicas on the node. Skipped without etcd-server.
command -v etcd >/dev/null || { echo "SKIP: etcd is not installed (Debian's etcd-server)"; exit 0; }
. "$(dirname "$0")/../agent/lib.sh"
node_links
etcd --name a --data-dir "$T/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster a=http://127.0.0.1:2380 \
  >"$T/etcd.log" 2>&1 &
until_ok 30 env ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:2379 endpoint health ||
  fail "etcd did not start"
master_on() {  # NAME PORT KUBECONFIG
  "$MASTER" --storage etcd --etcd-servers http://127.0.0.1:2379 --data-dir "$T/$1" \
    --kubeconfig-out "$3" --secure-port "$2" --bind-address 127.0.0.1 >"$T/$1.log" 2>&1 &
}
step "two masters on one etcd, sharing the PKI"
PORT=6443
master_on m1 6443 "$KUBECONFIG"; MASTER_PID=$!
until_ok 30 kubectl get --raw /readyz || fail "m1 not ready: $(tail -5 "$T/m1.log")"
mkdir -p "$T/m2" && cp -a "$T/m1/pki" "$T/m2/pki"
master_on m2 6444 "$T/m2.kubeconfig"; M2=$!
until_ok 30 kubectl --kubeconfig "$T/m2.kubeconfig" get --raw /readyz || fail "m2 not ready"

step "node-1 with --server listing both"
AGENT_SERVERS=https://127.0.0.1:6443,https://127.0.0.1:6444 start_agent
until_ok 60 node_ready || fail "node-1 did not become Ready"
k create deployment web --image=busybox -- sleep 3600 >/dev/null
until_ok 90 running_with app=web 1 || { k get pods -o wide; fail "web not Running"; }

step "kill -9 the master the agent uses (it also leads the controllers)"
grep -q "Successfully acquired lease.*kube-controller-manager" "$T/m1.log" ||
  fail "m1, started first, does not hold the controller-manager lease"
holder=$(kubectl get lease kube-controller-manager -n kube-system -o jsonpath='{.spec.holderIdentity}')
kill -9 "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null || true; MASTER_PID=$M2
t0=$(date +%s.%N)
export KUBECONFIG=$T/m2.kubeconfig
killed=$(date -u +%s)
k create deployment during --image=busybox -- sleep 3600 >/dev/null
new_leader() {
  local h
  h=$(kubectl get lease kube-controller-manager -n kube-system -o jsonpath='{.spec.holderIdentity}')
  [ -n "$h" ] && [ "$h" != "$holder" ]
}
until_ok 40 new_leader || fail "m2 did not take the controller-manager lease over"
echo "controllers taken over $(python3 -c "import time;print(f'{time.time()-$t0:.1f}')")s after the kill"
renewed_after_kill() {
  local t
  t=$(kubectl get lease node-1 -n kube-node-lease -o jsonpath='{.spec.renewTime}')
  [ -n "$t" ] && [ "$(date -u -d "$t" +%s)" -gt "$killed" ]
}
until_ok 30 renewed_after_kill || fail "the node's Lease was not renewed through m2"
until_ok 30 grep -q "Switched API server" "$T/agent.log" || fail "the agent did not switch servers"
grep "Switched API server" "$T/agent.log" | head -1
k scale deployment web --replicas 2 >/dev/null
until_ok 90 running_with app=web 2 || { k get pods -o wide; fail "the second replica did not start after the kill"; }
until_ok 60 running_with app=during 1 || { k get pods -o wide; fail "the Deployment created during the kill is not Running"; }
node_ready || fail "node-1 is not Ready after the kill"
echo PASS
