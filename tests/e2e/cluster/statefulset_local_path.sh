#!/usr/bin/env bash
# Three nodes, the built-in local-path StorageClass: a 3-replica StatefulSet with a
# volumeClaimTemplate writes its ordinal (from its hostname) and its first pod's UID to its
# volume, a directory under its node's storage root. Deleted pods come back on the same node and
# read their own data. Draining the node of one replica leaves the recreated pod Pending with the
# scheduler's "didn't match PersistentVolume's node affinity" (its PV lives on that node); after
# uncordon it runs there again with its data. persistentVolumeClaimRetentionPolicy whenScaled:
# Delete removes the claims (and, reclaim Delete, the PVs and directories) of scaled-down ordinals;
# whenDeleted: Retain keeps ordinal 0's claim when the set goes. The nodes' storage roots hold
# exactly the directories of the live PVs throughout.
. "$(dirname "$0")/lib.sh"
start_cluster

sfail() {
  kubectl get sts,pvc,pv -o wide 2>/dev/null || true
  kubectl describe pods -l app=db 2>/dev/null | grep -A8 -E '^(Name|Conditions|Events):' || true
  fail "$@"
}
# pod_field POD JSONPATH
pod_field() { kubectl get pod "$1" -o jsonpath="{$2}"; }
# db_ready N: exactly N db pods, all Running and Ready, none being deleted.
db_ready() { [ "$(pods_by_node app=db | wc -l)" = "$1" ] && [ "$(running_count app=db)" = "$1" ]; }
gone() { ! kubectl get "$@" >/dev/null 2>&1; }
# storage_dirs: every directory directly under the three nodes' storage roots, one a line, sorted.
storage_dirs() {
  local n
  for n in "${NODES[@]}"; do
    if [ -d "$T/$n/storage" ]; then find "$T/$n/storage" -mindepth 1 -maxdepth 1; fi
  done | sort
}
# pv_dirs: the host path of every PersistentVolume, one a line, sorted.
pv_dirs() { kubectl get pv -o jsonpath='{range .items[*]}{.spec.hostPath.path}{.spec.local.path}{"\n"}{end}' | sed '/^$/d' | sort; }
roots_match_pvs() { [ "$(storage_dirs)" = "$(pv_dirs)" ]; }
check_roots() {
  until_ok 20 roots_match_pvs || sfail "storage roots hold [$(storage_dirs | xargs)], live PVs are at [$(pv_dirs | xargs)]"
}
# check_data I: db-I reads back its ordinal and the UID of the first db-I, written to its volume.
check_data() {
  local i=$1 got
  got=$(k exec "db-$i" -- cat /data/ordinal /data/first-uid | xargs) || sfail "kubectl exec db-$i cat failed"
  [ "$got" = "$i ${UID0[$i]}" ] || sfail "db-$i reads '$got' from its volume, want '$i ${UID0[$i]}'"
  [ "$(pod_field "db-$i" .spec.nodeName)" = "${NODE[$i]}" ] ||
    sfail "db-$i runs on $(pod_field "db-$i" .spec.nodeName), its PV is on ${NODE[$i]}"
  [ "$(kubectl get pvc "data-db-$i" -o jsonpath='{.spec.volumeName}')" = "${PV[$i]}" ] || sfail "data-db-$i changed volume"
}

step "StatefulSet db: 3 replicas, a local-path volumeClaimTemplate, whenScaled Delete / whenDeleted Retain"
# Each pod keeps its ordinal and its first uid on its volume.
keep='h=$(hostname); [ -f /data/ordinal ] || { echo "$POD_UID" > /data/first-uid; echo "${h##*-}" > /data/ordinal; }; exec sleep 100000'
statefulset_yaml db 3 --set 'podManagementPolicy: Parallel' \
  --set 'persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Retain}' \
  --set 'volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 16Mi}}}}]' \
  "[sh, -c, '$keep']" \
  'env: [{name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}]' 'volumeMounts: [{name: data, mountPath: /data}]' |
  k apply -f - >/dev/null
until_ok 120 db_ready 3 || sfail "db pods not Running"
declare -A UID0=() NODE=() PV=() DIR=()
for i in 0 1 2; do
  UID0[$i]=$(pod_field "db-$i" .metadata.uid)
  NODE[$i]=$(pod_field "db-$i" .spec.nodeName)
  row=$(k get pvc "data-db-$i" --no-headers)
  grep -Eq "^data-db-$i +Bound +pvc-[0-9a-f-]+ +16Mi +RWO +local-path" <<<"$row" || sfail "kubectl get pvc printed: $row"
  PV[$i]=$(k get pvc "data-db-$i" -o jsonpath='{.spec.volumeName}')
  DIR[$i]=$(k get pv "${PV[$i]}" -o jsonpath='{.spec.hostPath.path}{.spec.local.path}')
  [ "$(k get pv "${PV[$i]}" -o jsonpath='{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}')" = "${NODE[$i]}" ] ||
    sfail "PV ${PV[$i]} has no node affinity to ${NODE[$i]}"
  [ "$(dirname "${DIR[$i]}")" = "$T/${NODE[$i]}/storage" ] || sfail "PV ${PV[$i]} at ${DIR[$i]}, not under ${NODE[$i]}'s storage root"
  until_ok 10 test -s "${DIR[$i]}/ordinal" || sfail "no ordinal file in ${DIR[$i]} on ${NODE[$i]}"
  [ "$(cat "${DIR[$i]}/ordinal")" = "$i" ] || sfail "${DIR[$i]}/ordinal holds '$(cat "${DIR[$i]}/ordinal")', want $i"
done
k get pods,pvc -o wide
check_roots

step "pods deleted and recreated: each reads back its own data on its PV's node"
# --wait=false: kubectl's wait GETs each pod, then lists and watches it by name from the list's
# revision. The three pods end within milliseconds of each other and the StatefulSet recreates
# them at once, so the GET can still see the old db-1 while the list already holds the new one:
# the old one's DELETED event precedes the watch and kubectl waits out its timeout (kubectl does
# the same against kube-apiserver). The new UIDs are checked below instead.
k delete pod db-0 db-1 db-2 --wait=false >/dev/null || sfail "kubectl delete pod"
until_ok 90 db_ready 3 || sfail "db pods not back"
for i in 0 1 2; do
  [ "$(pod_field "db-$i" .metadata.uid)" != "${UID0[$i]}" ] || sfail "db-$i was not recreated"
  check_data "$i"
done

X=${NODE[1]}
step "kubectl drain $X (db-1's PV is there): the recreated pod stays Pending on PV node affinity"
timeout 120 kubectl drain "$X" --ignore-daemonsets --delete-emptydir-data --timeout=90s | tee "$T/drain.out" ||
  sfail "kubectl drain $X failed"
grep -q "evicting pod default/db-1" "$T/drain.out" || sfail "drain did not evict db-1"
grep -q "node/$X drained" "$T/drain.out" || sfail "drain did not report $X drained"
ON_X=()
for i in 0 1 2; do [ "${NODE[$i]}" = "$X" ] && ON_X+=("$i"); done
unschedulable() { [ "$(kubectl get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}')" = Unschedulable ]; }
for i in "${ON_X[@]}"; do
  until_ok 30 unschedulable "db-$i" || sfail "db-$i not Unschedulable after the drain"
done
sleep 2  # and it stays so: no other node may take it
for i in "${ON_X[@]}"; do
  [ "$(pod_field "db-$i" .status.phase)" = Pending ] && [ -z "$(pod_field "db-$i" .spec.nodeName)" ] ||
    sfail "db-$i left Pending: $(pod_field "db-$i" .status.phase) on '$(pod_field "db-$i" .spec.nodeName)'"
  msg=$(kubectl get pod "db-$i" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}')
  echo "db-$i PodScheduled: $msg"
  # kube-scheduler 1.32: NodeUnschedulable fails the cordoned node, VolumeBinding the other two.
  want="0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match PersistentVolume's node affinity. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
  [ "$msg" = "$want" ] || sfail "db-$i PodScheduled message '$msg', want '$want'"
  k describe pod "db-$i" | grep -E "Warning +FailedScheduling .*didn't match PersistentVolume's node affinity" ||
    sfail "kubectl describe pod db-$i shows no FailedScheduling event with the PV node affinity reason"
done
for i in 0 1 2; do
  [ "${NODE[$i]}" = "$X" ] && continue
  [ "$(pod_field "db-$i" .status.phase)" = Running ] || sfail "db-$i on ${NODE[$i]} disturbed by the drain"
done

step "kubectl uncordon $X: the pods run there again with their data"
k uncordon "$X" >/dev/null || sfail "kubectl uncordon $X"
until_ok 90 db_ready 3 || sfail "db pods not Running after uncordon"
for i in 0 1 2; do check_data "$i"; done
check_roots

step "scale to 1 (whenScaled: Delete): claims, PVs and directories of db-1 and db-2 go"
k scale sts db --replicas=1 >/dev/null || sfail "kubectl scale"
until_ok 60 db_ready 1 || sfail "db not scaled down to 1"
for i in 1 2; do
  until_ok 30 gone pvc "data-db-$i" || sfail "claim data-db-$i kept on scale-down with whenScaled: Delete"
  until_ok 30 gone pv "${PV[$i]}" || sfail "PV ${PV[$i]} (reclaim Delete) not deleted"
  until_ok 10 test ! -e "${DIR[$i]}" || sfail "${DIR[$i]} still on ${NODE[$i]}"
done
check_data 0
check_roots

step "delete the StatefulSet (whenDeleted: Retain): db-0's claim, PV and data stay"
k delete sts db --timeout=60s >/dev/null || sfail "kubectl delete sts"
until_ok 30 gone pod db-0 || sfail "db-0 not deleted with its StatefulSet"
sleep 2
[ "$(k get pvc data-db-0 -o jsonpath='{.status.phase}')" = Bound ] || sfail "claim data-db-0 not kept Bound with whenDeleted: Retain"
[ -z "$(k get pvc data-db-0 -o jsonpath='{.metadata.deletionTimestamp}')" ] || sfail "claim data-db-0 is being deleted"
[ "$(k get pv "${PV[0]}" -o jsonpath='{.status.phase}')" = Bound ] || sfail "PV ${PV[0]} not Bound"
[ "$(cat "${DIR[0]}/ordinal")" = 0 ] || sfail "${DIR[0]} lost its data"
check_roots
[ "$(storage_dirs)" = "${DIR[0]}" ] || sfail "storage roots hold [$(storage_dirs | xargs)], want only ${DIR[0]}"

step "delete the kept claim: its PV and directory go, the storage roots are empty"
k delete pvc data-db-0 --timeout=30s >/dev/null || sfail "kubectl delete pvc data-db-0"
until_ok 30 gone pv "${PV[0]}" || sfail "PV ${PV[0]} not deleted"
check_roots
[ -z "$(storage_dirs)" ] || sfail "storage roots still hold $(storage_dirs | xargs)"
echo PASS
