#!/usr/bin/env bash
# The issue's "Must show" list, end to end: a 10-replica Deployment spreads over 3 nodes, the
# seed example stays Pending with "Insufficient cpu", `set image` rolls out, `rollout undo`
# goes back, `cordon` stops placements, `drain` evicts, and a node that stops renewing its Lease
# turns NotReady and its pods move after the (shortened) toleration time.
#
# The test plays kubelet: it renews Leases, marks bound pods Running/Ready with an IP, and
# confirms graceful deletions (grace 0) the way a kubelet does after stopping containers.
set -euo pipefail
BIN=${SKIFF_BINARY_DIR:?}/master-lite/skiff-master
[ -x "$BIN" ] || { echo "no skiff-master at $BIN"; exit 1; }
command -v kubectl >/dev/null || { echo "SKIP: kubectl not installed"; exit 0; }
T=$(mktemp -d)
MASTER_PID=""; KUBELET_PID=""; LEASE_PID=""
cleanup() {
  [ -n "$KUBELET_PID" ] && kill "$KUBELET_PID" 2>/dev/null || true
  [ -n "$LEASE_PID" ] && kill "$LEASE_PID" 2>/dev/null || true
  [ -n "$MASTER_PID" ] && kill "$MASTER_PID" 2>/dev/null && wait "$MASTER_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- master log (tail)"; tail -30 "$T/master.log" || true; exit 1; }
step() { echo "== $*"; }
k() { timeout 30 kubectl "$@"; }

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$BIN" --data-dir "$T/data" --kubeconfig-out "$T/admin.kubeconfig" --secure-port "$PORT" \
  --bind-address 127.0.0.1 --node-monitor-grace-period 8s \
  --default-not-ready-toleration-seconds 4 --default-unreachable-toleration-seconds 4 \
  >"$T/master.log" 2>&1 &
MASTER_PID=$!
export KUBECONFIG=$T/admin.kubeconfig
for _ in $(seq 1 100); do
  [ -s "$KUBECONFIG" ] && kubectl get --raw /readyz >/dev/null 2>&1 && break
  kill -0 "$MASTER_PID" 2>/dev/null || fail "skiff-master exited"
  sleep 0.2
done

now() { date -u +%Y-%m-%dT%H:%M:%S.000000Z; }
NODES="sim-a sim-b sim-c"
echo "$NODES" >"$T/alive"
for n in $NODES; do
  cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata: {name: $n, labels: {kubernetes.io/hostname: $n, kubernetes.io/os: linux}}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: $n, namespace: kube-node-lease}
spec: {holderIdentity: $n, leaseDurationSeconds: 40, renewTime: "$(now)"}
Y
  ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  k patch node "$n" --subresource=status --type merge -p "{\"status\":{\"capacity\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"lastHeartbeatTime\":\"$ts\",\"lastTransitionTime\":\"$ts\"}]}}" >/dev/null
done

# The simulated kubelets: renew Leases of live nodes (a loop of its own, as the kubelet's lease
# controller is, so that a long pass over pods on a loaded machine cannot starve it past the
# 40 s grace period), run bound pods, finish deletions.
lease_loop() {
  while true; do
    for n in $(cat "$T/alive"); do
      kubectl patch lease "$n" -n kube-node-lease --type merge \
        -p "{\"spec\":{\"renewTime\":\"$(now)\"}}" >/dev/null 2>&1 || true
    done
    sleep 2
  done
}
lease_loop &
LEASE_PID=$!
kubelet_loop() {
  local i=0
  while true; do
    kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name} {.spec.nodeName} {.status.phase} {.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null |
    while read -r ns name node phase deleting; do
      [ -z "$node" ] && continue
      grep -qw "$node" "$T/alive" || continue
      if [ -n "$deleting" ]; then
        kubectl delete pod -n "$ns" "$name" --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
      elif [ "$phase" != "Running" ]; then
        i=$((i + 1))
        ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        kubectl patch pod -n "$ns" "$name" --subresource=status --type merge -p \
          "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.$((i / 250)).$((i % 250 + 2))\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$ts\"}]}}" >/dev/null 2>&1 || true
      fi
    done
    sleep 1
  done
}
kubelet_loop &
KUBELET_PID=$!

wait_for() {  # wait_for SECONDS CMD...
  local t=$1; shift
  for _ in $(seq 1 "$t"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}
# `kubectl create deployment` talks protobuf; apply sends JSON, which is what master-lite serves.
deploy() {  # deploy NAME IMAGE REPLICAS
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, labels: {app: %s}}\nspec:\n  replicas: %s\n  selector: {matchLabels: {app: %s}}\n  template:\n    metadata: {labels: {app: %s}}\n    spec: {containers: [{name: busybox, image: "%s"}]}\n' \
    "$1" "$1" "$3" "$1" "$1" "$2" | k apply -f - >/dev/null
}
nodes_of() { k get pods -l "$1" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}'; }

step "pod CIDRs are assigned"
wait_for 20 bash -c '[ "$(kubectl get nodes -o jsonpath="{.items[*].spec.podCIDR}" | wc -w)" = 3 ]' ||
  fail "nodes did not get podCIDRs"

step "a 10-replica Deployment spreads over 3 nodes"
deploy web busybox:1.35 10
wait_for 30 bash -c "[ \"\$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | grep -c sim-)\" = 10 ]" ||
  fail "not all 10 web pods were bound"
[ "$(nodes_of app=web | sort -u | grep -c sim-)" = 3 ] || fail "web pods are not on 3 nodes: $(nodes_of app=web | sort | uniq -c)"
k rollout status deploy/web --timeout=60s >/dev/null || fail "rollout status did not succeed"

step "the seed example stays Pending with Insufficient cpu"
cat <<'Y' | k apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: spark-executor}
spec:
  replicas: 10
  selector: {matchLabels: {app: spark-executor}}
  template:
    metadata: {labels: {app: spark-executor}}
    spec:
      containers:
      - name: spark-executor
        image: busybox
        resources: {requests: {memory: 2G, cpu: "5"}, limits: {memory: 2G, cpu: "5"}}
        ports: [{containerPort: 8081, name: port-1}]
        env: [{name: DEBUG, value: __DEBUG}]
Y
wait_for 20 bash -c '[ "$(kubectl get pods -l app=spark-executor --field-selector=status.phase=Pending --no-headers | wc -l)" = 10 ]' ||
  fail "spark pods are not 10 Pending"
pod=$(k get pods -l app=spark-executor -o jsonpath='{.items[0].metadata.name}')
wait_for 20 bash -c "kubectl describe pod $pod | grep -q '0/3 nodes are available: 3 Insufficient cpu'" ||
  fail "describe pod lacks the Insufficient cpu message: $(k describe pod "$pod" | tail -5)"
k describe pod "$pod" | grep -q "FailedScheduling" || fail "no FailedScheduling event in describe"
k delete deployment spark-executor >/dev/null

step "kubectl set image rolls out"
k set image deploy/web busybox=busybox:1.36 >/dev/null
k rollout status deploy/web --timeout=90s >/dev/null || fail "rollout after set image did not finish"
[ "$(k get pods -l app=web -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sort -u)" = "busybox:1.36" ] ||
  wait_for 20 bash -c '[ "$(kubectl get pods -l app=web -o jsonpath="{range .items[*]}{.spec.containers[0].image}{\"\n\"}{end}" | sort -u)" = "busybox:1.36" ]' ||
  fail "not every web pod runs busybox:1.36"
k rollout history deploy/web | grep -q "^2 " || fail "rollout history lacks revision 2"

step "kubectl rollout undo goes back"
k rollout undo deploy/web >/dev/null || fail "rollout undo failed"
k rollout status deploy/web --timeout=90s >/dev/null || fail "rollout after undo did not finish"
[ "$(k get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" = "busybox:1.35" ] ||
  fail "undo did not restore busybox:1.35"
[ "$(k get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')" = 3 ] ||
  fail "revision after undo is not 3"

step "kubectl scale through the scale subresource"
k scale deploy/web --replicas=6 >/dev/null
wait_for 30 bash -c '[ "$(kubectl get deploy web -o jsonpath="{.status.availableReplicas}")" = 6 ]' ||
  fail "scale to 6 did not converge"

step "cordon stops new placements"
k cordon sim-a >/dev/null
deploy after busybox 4
wait_for 30 bash -c "[ \"\$(kubectl get pods -l app=after -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | grep -c sim-)\" = 4 ]" ||
  fail "after pods not bound"
[ "$(nodes_of app=after | grep -c sim-a)" = 0 ] || fail "a pod landed on cordoned sim-a"

step "drain evicts"
k uncordon sim-a >/dev/null
before=$(nodes_of app=web | grep -c sim-b || true)
[ "$before" -gt 0 ] || fail "no web pod on sim-b to drain"
k drain sim-b --ignore-daemonsets --timeout=60s >/dev/null 2>&1 || fail "kubectl drain failed"
wait_for 30 bash -c "[ \"\$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | grep -c sim-b)\" = 0 ]" ||
  fail "web pods still on sim-b after drain"
wait_for 30 bash -c '[ "$(kubectl get deploy web -o jsonpath="{.status.availableReplicas}")" = 6 ]' ||
  fail "web did not recover 6 available replicas after drain"
k uncordon sim-b >/dev/null

step "a node that stops renewing its Lease turns NotReady and its pods move"
on_c=$(nodes_of app=web | grep -c sim-c || true)
[ "$on_c" -gt 0 ] || fail "no web pod on sim-c"
echo "sim-a sim-b" >"$T/alive"
wait_for 40 bash -c '[ "$(kubectl get node sim-c -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = Unknown ]' ||
  fail "sim-c did not become Ready=Unknown"
# kubectl's node printer says NotReady for any Ready status but True (printNode).
k get nodes sim-c --no-headers | grep -qE " NotReady " || fail "kubectl get nodes does not show NotReady"
k get node sim-c -o jsonpath='{.spec.taints[*].key}' | grep -q node.kubernetes.io/unreachable ||
  fail "sim-c lacks the unreachable taint"
# Pods are evicted after the 4 s toleration; the ReplicaSet replaces them on live nodes.
wait_for 40 bash -c "[ \"\$(kubectl get pods -l app=web --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.spec.nodeName} {.metadata.deletionTimestamp}{\"\\n\"}{end}' | grep -v ' .\+' | grep -c -E 'sim-a|sim-b')\" = 6 ]" ||
  fail "web pods did not move off sim-c: $(k get pods -l app=web -o wide)"

step "Endpoints and EndpointSlices follow the Service's ready pods"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n' |
  k apply -f - >/dev/null
wait_for 20 bash -c '[ "$(kubectl get endpoints web -o jsonpath="{.subsets[*].addresses[*].ip}" | wc -w)" = 6 ]' ||
  fail "endpoints of web do not list 6 ready pods: $(k get endpoints web -o yaml)"
[ "$(k get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[0].metadata.labels.endpointslice\.kubernetes\.io/managed-by}')" = endpointslice-controller.k8s.io ] ||
  fail "no EndpointSlice managed by endpointslice-controller.k8s.io for web"

step "a deleted namespace takes its objects with it"
k create namespace scratch >/dev/null
wait_for 10 k get serviceaccount default -n scratch || fail "no default ServiceAccount in scratch"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: scratch}\n' | k apply -f - >/dev/null
k delete namespace scratch --timeout=30s >/dev/null || fail "namespace scratch was not deleted"

step "deleting the Deployment cascades"
k delete deploy web >/dev/null
wait_for 30 bash -c '[ "$(kubectl get rs -l app=web --no-headers 2>/dev/null | wc -l)" = 0 ]' ||
  fail "ReplicaSets of web were not garbage collected"
echo "PASS: controllers e2e"
