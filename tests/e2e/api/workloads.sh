#!/usr/bin/env bash
# Pods, Services and their API semantics: defaulting, binding, graceful deletion, eviction,
# table STATUS column, ClusterIP/NodePort allocation and release, dryRun, get -w.
. "$(dirname "$0")/lib.sh"
start_master
cat >"$T/pod.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: p1, labels: {app: p}}
spec:
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
Y
k apply -f "$T/pod.yaml" >/dev/null
out=$(k get pod p1 -o json)
for want in '"restartPolicy": "Always"' '"dnsPolicy": "ClusterFirst"' '"schedulerName": "default-scheduler"' \
            '"terminationGracePeriodSeconds": 30' '"imagePullPolicy": "Always"' '"serviceAccountName": "default"' \
            '"enableServiceLinks": true' '"tolerationSeconds": 300' '"node.kubernetes.io/not-ready"' \
            '"phase": "Pending"' '"qosClass": "BestEffort"' '"priority": 0'; do
  expect_has "$out" "$want" "pod defaults"
done
out=$(k get pod p1); expect_has "$out" "NAME   READY   STATUS    RESTARTS   AGE"; expect_has "$out" "p1     0/1     Pending   0"
out=$(k get pod p1 -o wide); expect_has "$out" "IP       NODE     NOMINATED NODE   READINESS GATES"
# Bind it to a node (what the scheduler does), then report status (what the agent does).
k create -f - >/dev/null <<'Y'
{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"node-role.kubernetes.io/worker":""}},
 "status":{"conditions":[{"type":"Ready","status":"True"}],"addresses":[{"type":"InternalIP","address":"10.0.0.5"}],
 "nodeInfo":{"kubeletVersion":"v1.32.0","osImage":"Debian GNU/Linux 12","kernelVersion":"6.1.0","containerRuntimeVersion":"skiff://0.1",
 "architecture":"amd64","bootID":"","machineID":"","operatingSystem":"linux","systemUUID":"","kubeProxyVersion":""}}}
Y
out=$(k get nodes -o wide); expect_has "$out" "n1     Ready    worker"; expect_has "$out" "10.0.0.5"
echo '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p1"},"target":{"apiVersion":"v1","kind":"Node","name":"n1"}}' >"$T/bind.json"
k create --raw /api/v1/namespaces/default/pods/p1/binding -f "$T/bind.json" >/dev/null
out=$(k get pod p1 -o jsonpath='{.spec.nodeName}'); expect_eq "$out" "n1" "binding"
out=$(k create --raw /api/v1/namespaces/default/pods/p1/binding -f "$T/bind.json" 2>&1 || true)
expect_has "$out" "already assigned"
cat >"$T/status.json" <<'Y'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"status":{"phase":"Running","podIP":"10.244.1.7",
 "conditions":[{"type":"Ready","status":"True"}],
 "containerStatuses":[{"name":"c","image":"busybox","imageID":"","ready":false,"restartCount":2,
   "state":{"waiting":{"reason":"CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":1,"finishedAt":"2020-01-01T00:00:00Z"}}}]}}
Y
k replace --raw /api/v1/namespaces/default/pods/p1/status -f "$T/status.json" >/dev/null
out=$(k get pod p1 -o wide); expect_has "$out" "CrashLoopBackOff"; expect_has "$out" "10.244.1.7"
expect_has "$out" "2 ("
# Graceful deletion: a bound pod gets deletionTimestamp and stays until grace 0.
k delete pod p1 --wait=false >/dev/null
out=$(k get pod p1); expect_has "$out" "Terminating"
out=$(k get pod p1 -o jsonpath='{.metadata.deletionGracePeriodSeconds}'); expect_eq "$out" "30" "grace"
k delete pod p1 --grace-period=0 --force >/dev/null 2>&1
out=$(k get pod p1 2>&1 || true); expect_has "$out" 'pods "p1" not found'
# An unscheduled pod is deleted at once.
k apply -f "$T/pod.yaml" >/dev/null
k delete pod p1 --wait=false >/dev/null
out=$(k get pod p1 2>&1 || true); expect_has "$out" 'not found'
# Eviction (policy/v1), as drain does.
k apply -f "$T/pod.yaml" >/dev/null
echo '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p1","namespace":"default"}}' >"$T/ev.json"
out=$(k create --raw /api/v1/namespaces/default/pods/p1/eviction -f "$T/ev.json"); expect_has "$out" '"status":"Success"'
# dryRun creates nothing.
out=$(k apply -f "$T/pod.yaml" --dry-run=server); expect_has "$out" "created (server dry run)"
out=$(k get pods 2>&1); expect_has "$out" "No resources found"

# Services: ClusterIP from the range, NodePort from 30000-32767, no duplicates, release on delete.
svc() { echo "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\"},\"spec\":{\"type\":\"$2\",\"ports\":[{\"port\":80,\"targetPort\":8080}]}}"; }
pids=()
for i in $(seq 1 20); do svc "s$i" ClusterIP | k create -f - >/dev/null & pids+=($!); done
wait "${pids[@]}"  # not a bare wait: skiff-master is a child too
ips=$(k get svc -o jsonpath='{range .items[*]}{.spec.clusterIP}{"\n"}{end}' | sort)
expect_eq "$(uniq -d <<<"$ips")" "" "duplicate cluster IPs"
expect_eq "$(wc -l <<<"$ips")" "21" "service count"
svc np NodePort | k create -f - >/dev/null
np=$(k get svc np -o jsonpath='{.spec.ports[0].nodePort}')
[ "$np" -ge 30000 ] && [ "$np" -le 32767 ] || fail "nodePort $np out of range"
out=$(k get svc np); expect_has "$out" "NodePort"; expect_has "$out" "80:$np/TCP"
out=$(k create -f - 2>&1 <<Y || true
{"apiVersion":"v1","kind":"Service","metadata":{"name":"np2"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":$np}]}}
Y
); expect_has "$out" "provided port is already allocated"
out=$(k get svc np2 2>&1 || true); expect_has "$out" "not found"
k delete svc np >/dev/null
k create -f - >/dev/null <<Y
{"apiVersion":"v1","kind":"Service","metadata":{"name":"np3"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":$np}]}}
Y
out=$(k get ep kubernetes); expect_has "$out" ":$PORT"
# get -w prints the change made while it runs.
(sleep 1.5; kubectl label svc s1 x=y >/dev/null) &
out=$(timeout 5 kubectl get svc s1 -w --output-watch-events 2>/dev/null || true)
expect_has "$out" "MODIFIED"
echo PASS
