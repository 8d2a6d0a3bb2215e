#!/usr/bin/env bash
# Three nodes: a DaemonSet puts exactly one pod on each node; `kubectl drain node-b` cordons it
# (STATUS Ready,SchedulingDisabled) and evicts its Deployment pods through the eviction API,
# which come back on the other nodes, leaving the DaemonSet pod; `kubectl uncordon` makes node-b
# schedulable again and new replicas land there.
. "$(dirname "$0")/lib.sh"
start_cluster

step "DaemonSet: one pod per node"
daemonset_yaml agentd '["sh", "-c", "exec sleep 100000"]' | k apply -f - >/dev/null
web_deployment web 6
until_ok 150 want_running app=agentd 3 || fail "DaemonSet pods not Running on 3 nodes"
[ "$(spread app=agentd)" = "node-a node-b node-c" ] || fail "DaemonSet pods on '$(spread app=agentd)'"
[ "$(pods_by_node app=agentd | wc -l)" = 3 ] || fail "DaemonSet has $(pods_by_node app=agentd | wc -l) pods, want 3"
until_ok 60 bash -c '[ "$(kubectl get ds agentd -o jsonpath="{.status.numberReady}/{.status.desiredNumberScheduled}")" = 3/3 ]' ||
  fail "DaemonSet status is not 3/3 ready: $(k get ds agentd -o jsonpath='{.status}')"

step "6-replica Deployment with pods on node-b"
until_ok 150 want_running app=web 6 || fail "6 web replicas not Running"
on_b=$(running_count app=web node-b)
[ "$on_b" -ge 1 ] || fail "no web replica on node-b (spread: $(spread app=web))"
k get pods -o wide

step "kubectl drain node-b --ignore-daemonsets --delete-emptydir-data"
k drain node-b --ignore-daemonsets --delete-emptydir-data --timeout=120s | tee "$T/drain.out" ||
  fail "kubectl drain failed"
grep -q "evicting pod default/web-" "$T/drain.out" || fail "drain evicted no web pod"
grep -q "node/node-b drained" "$T/drain.out" || fail "drain did not report node-b drained"
[ "$(node_status_column node-b)" = "Ready,SchedulingDisabled" ] ||
  fail "node-b STATUS is '$(node_status_column node-b)', want Ready,SchedulingDisabled"
k get node node-b -o jsonpath='{.spec.taints[*].key}' | grep -qw node.kubernetes.io/unschedulable ||
  fail "cordoned node-b has no unschedulable taint"
# Drain returns once the evicted pods are gone; the ReplicaSet has made replacements elsewhere.
[ "$(pods_by_node app=web | awk '$2 == "node-b"' | wc -l)" = 0 ] || fail "web pods left on node-b after drain"
until_ok 90 want_running app=web 6 || fail "web back to 6 Running replicas after drain"
[ "$(running_count app=web node-b)" = 0 ] || fail "a web replica was scheduled on cordoned node-b"
[ "$(running_count app=agentd node-b)" = 1 ] || fail "drain removed node-b's DaemonSet pod"
k get pods -o wide

step "kubectl uncordon node-b brings it back"
k uncordon node-b
[ "$(node_status_column node-b)" = Ready ] || fail "node-b STATUS is '$(node_status_column node-b)' after uncordon"
until_ok 20 bash -c "! kubectl get node node-b -o jsonpath='{.spec.taints[*].key}' | grep -qw node.kubernetes.io/unschedulable" ||
  fail "unschedulable taint still on node-b"
k scale deployment web --replicas=9 >/dev/null
until_ok 120 want_running app=web 9 || fail "9 web replicas not Running"
[ "$(running_count app=web node-b)" -ge 1 ] || fail "no new replica landed on node-b after uncordon (spread: $(spread app=web))"
k get pods -o wide
echo PASS
