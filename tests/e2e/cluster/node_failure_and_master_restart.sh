#!/usr/bin/env bash
# Three nodes with shortened failure detection (the master's real flags): SIGKILL of node-c's
# agent turns node-c NotReady within 60 s (Ready=Unknown, unreachable taints), its pods are
# recreated on the other nodes once their toleration runs out; starting the agent again makes
# node-c Ready and it cleans up the stale pods (the containers of pods no longer bound to it
# are killed and removed). Then skiff-master is killed with SIGKILL and restarted on the same
# data dir: every acknowledged object is still there and the cluster carries on.
. "$(dirname "$0")/lib.sh"
GRACE=20
TOLERATION=10
start_cluster --node-monitor-grace-period ${GRACE}s \
  --default-not-ready-toleration-seconds $TOLERATION --default-unreachable-toleration-seconds $TOLERATION

step "6-replica Deployment over the three nodes"
web_deployment web 6
until_ok 150 want_running app=web 6 || fail "6 web replicas not Running"
[ "$(spread app=web)" = "node-a node-b node-c" ] || fail "replicas spread over '$(spread app=web)'"
tol=$(k get pods -l app=web -o jsonpath='{.items[0].spec.tolerations[?(@.key=="node.kubernetes.io/unreachable")].tolerationSeconds}')
[ "$tol" = $TOLERATION ] || fail "pods tolerate unreachable for '$tol' s, want $TOLERATION (--default-unreachable-toleration-seconds)"
STALE=$(pods_by_node app=web | awk '$2 == "node-c" {print $1}' | xargs)
declare -A STALE_UID=()
for p in $STALE; do STALE_UID[$p]=$(k get pod "$p" -o jsonpath='{.metadata.uid}'); done
echo "pods on node-c: $STALE"

# procs_of_pod UID: the processes left in the pod's cgroups on node-c.
procs_of_pod() {
  find /sys/fs/cgroup/*/"$CG"-node-c -type d -name "pod$1" 2>/dev/null |
    while read -r d; do find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u
}
for p in $STALE; do
  [ -n "$(procs_of_pod "${STALE_UID[$p]}")" ] || fail "no process found in the cgroup of pod $p"
done

step "SIGKILL node-c's agent: NotReady within 60 s"
kill -9 "${AGENT_PID[node-c]}"
wait "${AGENT_PID[node-c]}" 2>/dev/null || true
unset 'AGENT_PID[node-c]'
t0=$SECONDS
until_ok 60 bash -c '[ "$(kubectl get node node-c --no-headers | awk "{print \$2}")" = NotReady ]' ||
  fail "node-c not NotReady 60 s after its agent died (STATUS $(node_status_column node-c))"
echo "node-c NotReady after $((SECONDS - t0)) s"
k get nodes
[ "$(k get node node-c -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = Unknown ] ||
  fail "node-c Ready condition is not Unknown"
until_ok 15 bash -c "kubectl get node node-c -o jsonpath='{.spec.taints[*].key}' | grep -qw node.kubernetes.io/unreachable" ||
  fail "node-c has no unreachable taint"
for n in node-a node-b; do [ "$(node_status_column $n)" = Ready ] || fail "$n is not Ready"; done

step "after ${TOLERATION} s of toleration, node-c's pods are recreated elsewhere"
t1=$SECONDS
all_elsewhere() {
  [ "$(running_count app=web)" = 6 ] && [ "$(running_count app=web node-c)" = 0 ]
}
until_ok 90 all_elsewhere || fail "web pods not recreated on node-a/node-b"
echo "replacements Running $((SECONDS - t1)) s after NotReady"
# The evicted pods stay Terminating on the unreachable node (its kubelet must confirm); they
# were deleted no sooner than their tolerationSeconds after the NoExecute taint was added.
tainted=$(k get node node-c -o jsonpath='{.spec.taints[?(@.key=="node.kubernetes.io/unreachable")].timeAdded}')
[ -n "$tainted" ] || fail "node-c's NoExecute taint has no timeAdded"
for p in $STALE; do
  del=$(k get pod "$p" -o jsonpath='{.metadata.deletionTimestamp}')
  [ -n "$del" ] || fail "pod $p on node-c is not being deleted"
  # deletionTimestamp = deletion time + grace period (1 s), both to the second.
  waited=$(( $(date -d "$del" +%s) - $(date -d "$tainted" +%s) ))
  [ "$waited" -ge "$TOLERATION" ] && [ "$waited" -le $((TOLERATION + 15)) ] ||
    fail "pod $p deleted ${waited} s after the taint, want its ${TOLERATION} s toleration"
  echo "pod $p evicted ${waited} s after node-c was tainted unreachable"
done
# Force-delete one of them: the API forgets it, so only node-c's own cleanup of pods no
# longer bound to it can stop its containers.
FORCED=${STALE%% *}
k delete pod "$FORCED" --force --grace-period=0 >/dev/null 2>&1
! k get pod "$FORCED" >/dev/null 2>&1 || fail "force-deleted pod $FORCED still exists"
[ -n "$(procs_of_pod "${STALE_UID[$FORCED]}")" ] || fail "containers of $FORCED died without their agent"

step "start node-c's agent again: Ready, stale pods cleaned up"
start_agent node-c
until_ok 60 node_ready node-c || fail "node-c not Ready after the agent restarted"
[ "$(node_status_column node-c)" = Ready ] || fail "node-c STATUS '$(node_status_column node-c)'"
stale_gone() {
  local p
  for p in $STALE; do
    kubectl get pod "$p" >/dev/null 2>&1 && return 1
    [ -z "$(procs_of_pod "${STALE_UID[$p]}")" ] || return 1
    # ... and their cgroups removed.
    [ -z "$(find /sys/fs/cgroup/*/"$CG"-node-c -type d -name "pod${STALE_UID[$p]}" 2>/dev/null)" ] || return 1
  done
  return 0
}
until_ok 60 stale_gone || {
  for p in $STALE; do
    echo "$p: $(k get pod "$p" --no-headers 2>&1) procs: $(procs_of_pod "${STALE_UID[$p]}" | xargs)"
    find /sys/fs/cgroup/*/"$CG"-node-c -type d -name "pod${STALE_UID[$p]}" 2>/dev/null
  done
  fail "node-c did not clean up its stale pods"
}
until_ok 20 bash -c "! kubectl get node node-c -o jsonpath='{.spec.taints[*].key}' | grep -q node.kubernetes.io/" ||
  fail "node-c still tainted after it came back: $(k get node node-c -o jsonpath='{.spec.taints}')"
[ "$(running_count app=web)" = 6 ] || fail "web no longer has 6 Running replicas"

step "kill -9 skiff-master right after acknowledged writes; restart on the same data dir"
for i in $(seq 1 20); do
  k create configmap "acked-$i" --from-literal=i="$i" >/dev/null || fail "create configmap acked-$i"
done
k scale deployment web --replicas=4 >/dev/null
kill -9 "$MASTER_PID"
wait "$MASTER_PID" 2>/dev/null || true
MASTER_PID=""
start_master "${MASTER_FLAGS[@]}"
for i in $(seq 1 20); do
  [ "$(k get configmap "acked-$i" -o jsonpath='{.data.i}')" = "$i" ] || fail "acknowledged configmap acked-$i lost"
done
[ "$(k get deployment web -o jsonpath='{.spec.replicas}')" = 4 ] || fail "acknowledged scale to 4 lost"
until_ok 60 bash -c '[ "$(kubectl get pods -l app=web --no-headers | wc -l)" = 4 ]' || fail "web did not scale to 4 after the restart"

step "the cluster carries on: nodes stay Ready, a new Deployment scales"
for n in "${NODES[@]}"; do
  until_ok 30 node_ready "$n" || fail "$n not Ready after the master restart"
done
lease_before=$(k get lease -n kube-node-lease node-a -o jsonpath='{.spec.renewTime}')
web_deployment after 3
until_ok 120 want_running app=after 3 || fail "new Deployment not Running after the master restart"
k scale deployment after --replicas=6 >/dev/null
until_ok 120 want_running app=after 6 || fail "new Deployment did not scale to 6"
[ "$(spread app=after)" = "node-a node-b node-c" ] || fail "new Deployment spread over '$(spread app=after)'"
until_ok 30 bash -c "[ \"\$(kubectl get lease -n kube-node-lease node-a -o jsonpath='{.spec.renewTime}')\" != '$lease_before' ]" ||
  fail "node-a's lease is no longer renewed"
k get nodes
k get pods -o wide
echo PASS
