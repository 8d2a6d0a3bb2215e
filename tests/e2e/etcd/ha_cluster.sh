#!/usr/bin/env bash
# Issue 23's fault run as a cluster: three etcd members, three skiff-masters sharing one PKI
# (10.98.0.1, .2 and .3 on the test's LAN, each its own API server), and agents on two more
# nodes (node-a, node-b, each in its own network namespace) joined with `--server` listing the
# three masters. Everything runs inside the namespaces cluster/lib.sh creates.
#  - the `kubernetes` Endpoints list the three masters, and a node reaches the API through the
#    Service's ClusterIP;
#  - kill -9 of the master leading the scheduler and controllers: another takes both Leases over
#    within 20 s (measured); Deployments created before and during the kill reach their replicas
#    on the two nodes, which stay Ready; the dead master leaves the `kubernetes` Endpoints and the
#    ClusterIP keeps answering;
#  - one etcd member stopped: writes go on; two stopped: a write fails with a 5xx Status within
#    30 s, and works again once one is back;
#  - 1,000 acknowledged creates while two masters are killed in turn: every one is there, none
#    twice.
# Skipped without Debian's etcd-server.
command -v etcd >/dev/null || { echo "SKIP: etcd is not installed (Debian's etcd-server)"; exit 0; }
. "$(dirname "$0")/../cluster/lib.sh"
. "$(dirname "$0")/members.sh"
NODES=(node-a node-b)
MASTERS=(m1 m2 m3)
declare -A MIP=([m1]=$LAN.1 [m2]=$LAN.2 [m3]=$LAN.3)
SERVICE_IP=10.96.0.1  # the `kubernetes` Service's ClusterIP (first of the default range)

stop_all() {  # then the cluster lib's cleanup (agents, cgroups, mounts, work dir)
  set +e
  local p
  for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${PID[@]}"; do wait "$p" 2>/dev/null; done  # not `wait`: the nodes' holders live on
  cleanup
}
trap stop_all EXIT
kc() { local m=$1; shift; timeout 60 kubectl --kubeconfig "$T/$m.kubeconfig" "$@"; }

# master_on NAME: skiff-master NAME on its own LAN address (port 6443), ready.
master_on() {
  "$MASTER" --storage etcd --etcd-servers "$SERVERS" --data-dir "$T/$1" \
    --kubeconfig-out "$T/$1.kubeconfig" --secure-port $PORT --bind-address "${MIP[$1]}" \
    --advertise-address "${MIP[$1]}" >>"$T/$1.log" 2>&1 &
  PID[$1]=$!
  until_ok 30 kc "$1" get --raw /readyz || fail "$1 not ready: $(tail -5 "$T/$1.log")"
}
# The masters' addresses in the `kubernetes` Endpoints, sorted, space separated.
kubernetes_endpoints() {
  kubectl get endpoints kubernetes -o jsonpath='{.subsets[*].addresses[*].ip}' | tr ' ' '\n' | sort | xargs
}
endpoints_are() { [ "$(kubernetes_endpoints)" = "$*" ]; }
# through_service NODE: the API's /readyz through the Service's ClusterIP from NODE's host network
# (the agent's proxy rules carry it to one of the masters).
through_service() { [ "$(on "$1" curl -sk -m 3 "https://$SERVICE_IP/readyz")" = ok ]; }
service_steady() {  # 10 requests in a row, from both nodes
  local i n
  for i in 1 2 3 4 5; do for n in "${NODES[@]}"; do through_service "$n" || return 1; done; done
}
holder() { kubectl get lease "$1" -n kube-system -o jsonpath='{.spec.holderIdentity}'; }
write_status() { post_configmap "${MIP[$1]}:$PORT" "$2"; }  # M NAME

step "LAN, three etcd members, three masters sharing m1's PKI"
start_lan
ip addr add "${MIP[m2]}/24" dev lan0
ip addr add "${MIP[m3]}/24" dev lan0
etcd_cluster e1 e2 e3
master_on m1
cp "$T/m1.kubeconfig" "$KUBECONFIG"
for m in m2 m3; do
  mkdir -p "$T/$m" && cp -a "$T/m1/pki" "$T/$m/pki"
  master_on "$m"
done
until_ok 30 endpoints_are "${MIP[m1]} ${MIP[m2]} ${MIP[m3]}" ||
  fail "the kubernetes Endpoints list '$(kubernetes_endpoints)', not the three masters"
echo "kubernetes Endpoints: $(kubernetes_endpoints)"

step "agents on node-a and node-b with --server listing the three masters"
create_bootstrap_token
export AGENT_SERVERS=https://${MIP[m1]}:$PORT,https://${MIP[m2]}:$PORT,https://${MIP[m3]}:$PORT
for n in "${NODES[@]}"; do start_agent "$n"; done
for n in "${NODES[@]}"; do until_ok 90 node_ready "$n" || fail "$n did not become Ready"; done
until_ok 30 service_steady || fail "the API is not reachable through $SERVICE_IP from the nodes"
web_deployment before 2
until_ok 120 want_running app=before 2 || fail "Deployment 'before' did not reach 2 replicas"

step "kill -9 the master leading the scheduler and controllers"
leader=
for m in "${MASTERS[@]}"; do
  grep -q "Successfully acquired lease.*kube-controller-manager" "$T/$m.log" && leader="$leader $m"
done
leader=${leader# }
case "$leader" in m1 | m2 | m3) ;; *) fail "want one controller-manager leader, got '$leader'" ;; esac
survivors=()
for m in "${MASTERS[@]}"; do [ "$m" = "$leader" ] || survivors+=("$m"); done
old_s=$(holder kube-scheduler); old_c=$(holder kube-controller-manager)
export KUBECONFIG=$T/${survivors[0]}.kubeconfig
t0=$(now); killed=$(date -u +%s)
kill9 "$leader"
web_deployment during 2
taken_over() {
  local s c
  s=$(holder kube-scheduler); c=$(holder kube-controller-manager)
  [ -n "$s" ] && [ "$s" != "$old_s" ] && [ -n "$c" ] && [ "$c" != "$old_c" ]
}
until_ok 40 taken_over || fail "no takeover of the scheduler and controller-manager Leases"
took=$(since "$t0")
echo "$leader killed: Leases taken over after ${took}s by $(holder kube-controller-manager)"
python3 -c "import sys; sys.exit(0 if $took <= 20 else 1)" || fail "takeover took ${took}s (> 20 s)"
kubectl get lease -n kube-system
k scale deployment before --replicas 4 >/dev/null
until_ok 120 want_running app=before 4 || fail "Deployment 'before' did not reach 4 replicas after the kill"
until_ok 120 want_running app=during 2 || fail "Deployment 'during' did not reach 2 replicas"
echo "before: $(running_count app=before) Running on $(spread app=before); during: $(running_count app=during) on $(spread app=during)"
renewed_after_kill() {  # NODE
  local t
  t=$(kubectl get lease "$1" -n kube-node-lease -o jsonpath='{.spec.renewTime}')
  [ -n "$t" ] && [ "$(date -u -d "$t" +%s)" -gt "$killed" ]
}
for n in "${NODES[@]}"; do
  until_ok 30 renewed_after_kill "$n" || fail "$n's Lease was not renewed after the kill"
  node_ready "$n" || fail "$n is not Ready after the kill"
done
live="${MIP[${survivors[0]}]} ${MIP[${survivors[1]}]}"
t1=$(now)
until_ok 60 endpoints_are "$live" || fail "the kubernetes Endpoints still list '$(kubernetes_endpoints)'"
echo "the dead master left the kubernetes Endpoints $(since "$t1")s after the takeover"
until_ok 30 service_steady || fail "the ClusterIP does not answer steadily after the kill"

step "one etcd member stopped: writes go on"
kill9 e1
for i in $(seq 1 20); do
  [ "$(write_status "${survivors[0]}" one-down-$i)" = 201 ] || fail "write $i failed with e1 down: $(cat "$T/write.json")"
done
step "two stopped (no quorum): a 5xx Status within 30 s, not a hang"
kill9 e2
expect_no_quorum_error "${MIP[${survivors[1]}]}:$PORT"
etcd_start e2
t0=$(now)
quorum_back() { [ "$(write_status "${survivors[1]}" quorum-back)" = 201 ]; }
until_ok 60 quorum_back || fail "no write after e2 returned"
echo "writes again $(since "$t0")s after e2 was started"
etcd_start e1

step "1,000 acknowledged creates while masters are killed in turn"
master_on "$leader"  # the killed master comes back (same data dir and address)
W_PY=$(dirname "$0")/writer.py
python3 "$W_PY" write "$T/m1/pki" "$T/acked.json" "$(for m in "${MASTERS[@]}"; do printf '%s:%s,' "${MIP[$m]}" $PORT; done | sed 's/,$//')" \
  >"$T/writer.log" 2>&1 &
PID[writer]=$!
reached() { grep -q "^$1 created" "$T/writer.log" 2>/dev/null; }
for at in 300:m1 700:m2; do
  until reached "${at%%:*}"; do
    kill -0 "${PID[writer]}" 2>/dev/null || fail "writer ended early: $(tail -3 "$T/writer.log")"
    sleep 0.1
  done
  kill9 "${at#*:}"
  echo "${at#*:} killed at $(tail -1 "$T/writer.log")"
  [ "${at#*:}" = m1 ] && master_on m1
done
wait "${PID[writer]}" || fail "writer failed: $(tail -5 "$T/writer.log")"
tail -1 "$T/writer.log"
export KUBECONFIG=$T/m1.kubeconfig
k get configmaps -l run=faults -o json >"$T/all.json"
python3 "$W_PY" check "$T/acked.json" "$T/all.json" || fail "acknowledged objects missing or created twice"
for n in "${NODES[@]}"; do node_ready "$n" || fail "$n is not Ready at the end"; done
echo PASS
