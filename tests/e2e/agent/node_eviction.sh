#!/usr/bin/env bash
# Hard eviction on real stats: the agent's root dir (nodefs) is a 64 MiB tmpfs with
# --eviction-hard nodefs.available<50%. A pod that fills its emptyDir with 40 MiB pushes the node
# over the threshold: the node reports DiskPressure, the filler (the pod using the most local
# storage) is evicted with the kubelet's reason and message, the quiet pod keeps running, and a
# new pod is refused by the kubelet's admission while the pressure lasts.
. "$(dirname "$0")/lib.sh"
start_master
mkdir -p "$T/agent"
mount -t tmpfs -o size=64m skiff-e2e-nodefs "$T/agent"
start_agent --eviction-hard 'nodefs.available<50%'
until_ok 60 node_ready || fail "node-1 did not become Ready"
cond() { kubectl get node node-1 -o jsonpath="{.status.conditions[?(@.type==\"$1\")].status}"; }
[ "$(cond DiskPressure)" = False ] || fail "DiskPressure=$(cond DiskPressure) before any pod ran"

cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: quiet}
spec:
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: filler}
spec:
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 2; dd if=/dev/zero of=/data/fill bs=1M count=40; sleep 3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, emptyDir: {}}]
Y
until_ok 60 pod_running quiet || fail "quiet pod not Running"
step "filler evicted"
until_ok 60 bash -c '[ "$(kubectl get pod filler -o jsonpath="{.status.reason}")" = Evicted ]' ||
  fail "filler not evicted (phase=$(pod_phase filler))"
[ "$(pod_phase filler)" = Failed ] || fail "evicted pod phase $(pod_phase filler), want Failed"
msg=$(kubectl get pod filler -o jsonpath='{.status.message}')
echo "eviction message: $msg"
case "$msg" in
  "The node was low on resource: ephemeral-storage. Threshold quantity: 32Mi, available: "*) ;;
  *) fail "unexpected eviction message: $msg" ;;
esac
k get pod filler -o jsonpath='{.status.conditions[?(@.type=="DisruptionTarget")].reason}' |
  grep -qx TerminationByKubelet || fail "no DisruptionTarget condition"
desc=$(k describe pod filler)
grep -Eq '^Reason: +Evicted' <<<"$desc" || fail "kubectl describe shows no 'Reason: Evicted'"
# The kubelet's Evicted event on the pod.
until_ok 20 bash -c "kubectl get events --field-selector involvedObject.name=filler -o jsonpath='{.items[*].reason}' | grep -qw Evicted" ||
  fail "no Evicted event: $(kubectl get events --field-selector involvedObject.name=filler)"
step "DiskPressure condition"
until_ok 30 bash -c '[ "$(kubectl get node node-1 -o jsonpath="{.status.conditions[?(@.type==\"DiskPressure\")].status}")" = True ]' ||
  fail "DiskPressure not True"
k get node node-1 -o jsonpath='{.status.conditions[?(@.type=="DiskPressure")].reason}' |
  grep -qx KubeletHasDiskPressure || fail "DiskPressure reason"
step "other pod untouched, new pods refused"
pod_running quiet || fail "quiet pod was disturbed: $(pod_phase quiet)"
# Bound to the node directly (no scheduler): the kubelet's admission refuses it.
cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: late}
spec:
  nodeName: node-1
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"], resources: {requests: {memory: 10Mi}}}]
Y
until_ok 30 bash -c '[ "$(kubectl get pod late -o jsonpath="{.status.reason}")" = Evicted ]' ||
  fail "late pod not refused (phase=$(pod_phase late))"
kubectl get pod late -o jsonpath='{.status.message}' | grep -qF 'The node had condition: [DiskPressure].' ||
  fail "admission message: $(kubectl get pod late -o jsonpath='{.status.message}')"
echo PASS
