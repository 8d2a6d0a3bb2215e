#!/usr/bin/env bash
# A running SQLite cluster (master + node-1 with a Deployment's pods) moves to etcd:
# stop the master, `skiff-master migrate --from sqlite:<data-dir> --to etcd:<url>`, start it on
# etcd with the same data directory. Every object is there with its uid, the pods kept running
# (same uids, no restart), the node stays Ready, the controllers act again, and new
# resourceVersions are above every one the SQLite store gave. Skipped without etcd-server.
command -v etcd >/dev/null || { echo "SKIP: etcd is not installed (Debian's etcd-server)"; exit 0; }
. "$(dirname "$0")/../agent/lib.sh"
start_cluster

step "a Deployment of 2, Services, ConfigMaps and a Secret on SQLite"
deployment_yaml web 2 '["sleep", "3600"]' | k apply -f - >/dev/null
for i in $(seq 1 20); do k create configmap cm-$i --from-literal=i=$i >/dev/null; done
k create secret generic s1 --from-literal=password=hunter2 >/dev/null
k expose deployment web --port 80 >/dev/null
until_ok 120 running_with app=web 2 || { k get pods -o wide; fail "2 replicas not Running"; }
objects() {
  kubectl get namespaces,configmaps,secrets,services,serviceaccounts,deployments,replicasets,pods,nodes,endpointslices,roles,rolebindings,clusterroles,clusterrolebindings -A \
    -o jsonpath='{range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name} {.metadata.uid}{"\n"}{end}' | sort
}
pods() {
  kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.uid} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.running.startedAt}{"\n"}{end}' | sort
}
objects >"$T/before.txt"
pods >"$T/pods-before.txt"
last_rv=$(kubectl get --raw /api/v1/configmaps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
[ "$(wc -l <"$T/before.txt")" -gt 100 ] || fail "too few objects listed: $(wc -l <"$T/before.txt")"

step "stop the master; etcd on loopback; skiff-master migrate"
kill "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null || true; MASTER_PID=""
EC=2379; EP=2380
etcd --name a --data-dir "$T/etcd" --listen-client-urls "http://127.0.0.1:$EC" \
  --advertise-client-urls "http://127.0.0.1:$EC" --listen-peer-urls "http://127.0.0.1:$EP" \
  --initial-advertise-peer-urls "http://127.0.0.1:$EP" --initial-cluster "a=http://127.0.0.1:$EP" \
  >"$T/etcd.log" 2>&1 &
until_ok 30 env ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$EC" endpoint health ||
  fail "etcd did not start: $(tail -5 "$T/etcd.log")"
"$MASTER" migrate --from "sqlite:$T/master" --to "etcd:http://127.0.0.1:$EC" >"$T/migrate.out" 2>&1 ||
  fail "migrate failed: $(cat "$T/migrate.out")"
cat "$T/migrate.out"
"$MASTER" migrate --from "sqlite:$T/master" --to "etcd:http://127.0.0.1:$EC" >"$T/again.out" 2>&1 &&
  fail "a second migrate into the same etcd succeeded"
grep -q "etcd already holds .* keys under '/registry/'" "$T/again.out" ||
  fail "second migrate: $(cat "$T/again.out")"

step "the master on etcd, same data directory"
"$MASTER" --storage etcd --etcd-servers "http://127.0.0.1:$EC" --data-dir "$T/master" \
  --kubeconfig-out "$KUBECONFIG" --secure-port $PORT --bind-address 127.0.0.1 >"$T/master.log" 2>&1 &
MASTER_PID=$!
until_ok 30 kubectl get --raw /readyz || fail "skiff-master on etcd not ready"
ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$EC" get /registry/configmaps/default/cm-7 \
  --print-value-only | grep -q cm-7 || fail "cm-7 is not in etcd"
objects >"$T/after.txt"
diff "$T/before.txt" "$T/after.txt" >"$T/objects.diff" || {
  # Leases and Events renew on their own; everything listed above must be identical.
  cat "$T/objects.diff"; fail "objects differ after the migration"; }
until_ok 60 node_ready || fail "node-1 not Ready on etcd"
sleep 3  # the agent's watches relist (410) and its status loop runs against the new store
pods >"$T/pods-after.txt"
diff "$T/pods-before.txt" "$T/pods-after.txt" || fail "the pods changed (uid, restarts or start time)"
new_rv=$(kubectl create configmap after -o jsonpath='{.metadata.resourceVersion}')
[ "$new_rv" -gt "$last_rv" ] || fail "resourceVersion went back: $new_rv after $last_rv"

step "controllers, scheduler and the node act on etcd"
k scale deployment web --replicas 3 >/dev/null
until_ok 90 running_with app=web 3 || { k get pods -o wide; fail "the third replica did not start on etcd"; }
echo "PASS (objects $(wc -l <"$T/after.txt"), resourceVersion $last_rv -> $new_rv)"
