#!/usr/bin/env bash
# The built-in local-path storage end to end, with real kubectl against scripts/quickstart:
# default StorageClass, WaitForFirstConsumer claim provisioned on the pod's node, data that
# outlives its pod, StatefulSet volumeClaimTemplates, reclaim Delete removing the directory and
# the PV, a generic ephemeral volume (owned claim, fsGroup, expansion, deleted with its pod, a
# foreign claim refused), and claims that cannot bind (unknown class, no volume, bad quantity) reported as
# upstream does.
set -euo pipefail
. "${SKIFF_SOURCE_DIR:?}/tests/e2e/quickstart/lib.sh" skiff-qs-storage
ROOT=/run/$NS/storage
phase() { [ "$(K get "$1" "$2" -o jsonpath='{.status.phase}')" = "$3" ]; }
event() { K get events --field-selector "involvedObject.name=$1" -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}' | grep -qF "$2"; }

echo "== quickstart"
qs_up

echo "== default StorageClass"
sc=$(K get sc --no-headers) || fail "kubectl get sc"
grep -Eq '^local-path \(default\) +skiff.io/local-path +Delete +WaitForFirstConsumer +false' <<<"$sc" \
  || fail "kubectl get sc printed: $sc"

echo "== a claim waits for its first consumer, then binds on the pod's node"
K apply -f - >/dev/null <<'Y' || fail "create claim"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 64Mi}}}
Y
[ "$(K get pvc data -o jsonpath='{.spec.storageClassName}')" = local-path ] || fail "no default class on the claim"
until_ok 20 event data "WaitForFirstConsumer: waiting for first consumer to be created before binding" \
  || fail "no WaitForFirstConsumer event"
phase pvc data Pending || fail "claim not Pending before a consumer"
pod() {  # pod NAME COMMAND
  pod_yaml "$1" --spec 'restartPolicy: Never' --spec 'volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]' \
    "[sh, -c, \"$2\"]" 'volumeMounts: [{name: d, mountPath: /data}]' | K apply -f - >/dev/null
}
pod writer "echo kept > /data/f && sleep 3600" || fail "create writer"
until_ok 60 phase pvc data Bound || fail "claim not Bound: $(K get pvc data -o wide)"
until_ok 60 phase pod writer Running || fail "writer not Running: $(K describe pod writer | tail -5)"
NODE=$(K get pod writer -o jsonpath='{.spec.nodeName}')
PV=$(K get pvc data -o jsonpath='{.spec.volumeName}')
UID_=$(K get pvc data -o jsonpath='{.metadata.uid}')
DIR=$ROOT/pvc-${UID_}_default_data
[ "$(K get pvc data -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/selected-node}')" = "$NODE" ] \
  || fail "no selected-node annotation"
[ "$(K get pv "$PV" -o jsonpath='{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}')" = "$NODE" ] \
  || fail "PV without node affinity to $NODE"
row=$(K get pvc data --no-headers)
grep -Eq "^data +Bound +$PV +64Mi +RWO +local-path" <<<"$row" || fail "kubectl get pvc printed: $row"
row=$(K get pv "$PV" --no-headers)
grep -Eq "^$PV +64Mi +RWO +Delete +Bound +default/data +local-path" <<<"$row" || fail "kubectl get pv printed: $row"
until_ok 20 test -f "$DIR/f" || fail "no $DIR/f on the node"
[ "$(cat "$DIR/f")" = kept ] || fail "the volume holds '$(cat "$DIR/f")'"

echo "== a claim in use waits on its protection finalizer"
K delete pvc data --wait=false >/dev/null || fail "delete claim"
sleep 2
[ "$(K get pvc data -o jsonpath='{.metadata.deletionTimestamp}')" != "" ] || fail "claim gone while in use"
phase pvc data Bound || fail "claim in use not Bound"

echo "== data outlives the pod"
K delete pod writer --timeout=60s >/dev/null || fail "delete writer"
until_ok 30 bash -c "! ip netns exec $NS kubectl --kubeconfig $KC get pvc data" || fail "claim not removed after its pod went"
until_ok 60 bash -c "! ip netns exec $NS kubectl --kubeconfig $KC get pv $PV" || fail "PV $PV not deleted: $(K get pv "$PV" -o wide)"
until_ok 10 bash -c "[ ! -e '$DIR' ]" || fail "$DIR not removed on reclaim Delete"

echo "== StatefulSet volumeClaimTemplates keep each ordinal's data"
statefulset_yaml web 2 \
  --set 'volumeClaimTemplates: [{metadata: {name: www}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 32Mi}}}}]' \
  '[sh, -c, "[ -f /www/who ] || hostname > /www/who; sleep 3600"]' 'volumeMounts: [{name: www, mountPath: /www}]' |
  K apply -f - >/dev/null || fail "create sts"
bound2() { [ "$(K get pvc www-web-0 www-web-1 -o jsonpath='{.items[*].status.phase}')" = "Bound Bound" ]; }
running2() { [ "$(K get pods -l app=web -o jsonpath='{.items[*].status.phase}')" = "Running Running" ]; }
until_ok 120 bound2 || fail "sts claims not bound: $(K get pvc)"
until_ok 120 running2 || fail "sts pods not running: $(K get pods -o wide)"
W1=$(K get pvc www-web-1 -o jsonpath='{.spec.volumeName}')
K delete pod web-1 --timeout=60s >/dev/null || fail "delete web-1"
until_ok 120 running2 || fail "web-1 not back"
[ "$(K get pvc www-web-1 -o jsonpath='{.spec.volumeName}')" = "$W1" ] || fail "web-1 got another volume"
[ "$(K exec web-1 -- cat /www/who)" = web-1 ] || fail "web-1 does not read its own data"
K scale sts web --replicas=1 >/dev/null || fail "scale down"
until_ok 60 bash -c "[ \$(ip netns exec $NS kubectl --kubeconfig $KC get pods -l app=web --no-headers | wc -l) -eq 1 ]" || fail "not scaled down"
phase pvc www-web-1 Bound || fail "www-web-1 not kept on scale-down (retention Retain)"

echo "== a generic ephemeral volume: the pod's own claim, fsGroup applied, grown, gone with the pod"
K apply -f - >/dev/null <<'Y' || fail "create eph"
apiVersion: v1
kind: Pod
metadata: {name: eph}
spec:
  securityContext: {fsGroup: 2345}
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, "touch /scratch/f; sleep 3600"], volumeMounts: [{name: scratch, mountPath: /scratch}]}
  volumes:
  - name: scratch
    ephemeral:
      volumeClaimTemplate:
        metadata: {labels: {kind: scratch}}
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 16Mi}}}
Y
until_ok 60 phase pvc eph-scratch Bound || fail "ephemeral claim not Bound: $(K get pvc -o wide)"
until_ok 60 phase pod eph Running || fail "eph not Running: $(K describe pod eph | tail -5)"
own=$(K get pvc eph-scratch -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].controller}/{.metadata.labels.kind}')
[ "$own" = "Pod/eph/true/scratch" ] || fail "ephemeral claim owner/labels: $own"
EPV=$(K get pvc eph-scratch -o jsonpath='{.spec.volumeName}')
EDIR=$ROOT/pvc-$(K get pvc eph-scratch -o jsonpath='{.metadata.uid}')_default_eph-scratch
until_ok 20 test -f "$EDIR/f" || fail "no $EDIR/f"
[ "$(stat -c '%g %a' "$EDIR")" = "2345 2777" ] || fail "fsGroup on the volume: $(stat -c '%g %a' "$EDIR")"
[ "$(stat -c '%g' "$EDIR/f")" = 2345 ] || fail "a new file does not inherit the fsGroup"
err=$(K patch pvc eph-scratch -p '{"spec":{"resources":{"requests":{"storage":"32Mi"}}}}' 2>&1) && fail "grew without allowVolumeExpansion"
grep -qF "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize" <<<"$err" \
  || fail "resize refusal: $err"
K patch sc local-path -p '{"allowVolumeExpansion":true}' >/dev/null || fail "allow expansion"
K patch pvc eph-scratch -p '{"spec":{"resources":{"requests":{"storage":"32Mi"}}}}' >/dev/null || fail "grow the claim"
until_ok 30 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC get pvc eph-scratch -o jsonpath='{.status.capacity.storage}')\" = 32Mi ]" \
  || fail "claim not grown: $(K get pvc eph-scratch -o yaml | tail -15)"
[ "$(K get pv "$EPV" -o jsonpath='{.spec.capacity.storage}')" = 32Mi ] || fail "volume not grown"
until_ok 20 event eph-scratch "VolumeResizeSuccessful: Resize volume succeeded" || fail "no VolumeResizeSuccessful event"
err=$(K patch pvc eph-scratch -p '{"spec":{"resources":{"requests":{"storage":"16Mi"}}}}' 2>&1) && fail "shrank"
grep -qF "field can not be less than status.capacity" <<<"$err" || fail "shrink refusal: $err"
K patch sc local-path -p '{"allowVolumeExpansion":false}' >/dev/null || fail "disallow expansion"
K delete pod eph --timeout=60s >/dev/null || fail "delete eph"
until_ok 60 bash -c "! ip netns exec $NS kubectl --kubeconfig $KC get pvc eph-scratch" || fail "ephemeral claim outlived its pod"
until_ok 60 bash -c "[ ! -e '$EDIR' ]" || fail "$EDIR not removed with its pod"

echo "== an ephemeral volume whose claim the pod does not own"
K apply -f - >/dev/null <<'Y' || fail "create foreign"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: foreign-scratch}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 16Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: foreign}
spec:
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"], volumeMounts: [{name: scratch, mountPath: /scratch}]}
  volumes:
  - name: scratch
    ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 16Mi}}}}}
Y
until_ok 20 event foreign "FailedBinding: ephemeral volume scratch: PVC default/foreign-scratch was not created for pod default/foreign (pod is not owner)" \
  || fail "no event for a foreign claim: $(K get events --field-selector involvedObject.name=foreign)"
until_ok 20 event foreign "PVC default/foreign-scratch was not created for pod default/foreign (pod is not owner)" || fail "no scheduler event"
phase pod foreign Pending || fail "foreign pod not Pending"
K delete pod foreign --wait=false >/dev/null; K delete pvc foreign-scratch --wait=false >/dev/null

echo "== claims that cannot bind"
K apply -f - >/dev/null <<'Y' || fail "create odd claims"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nowhere}
spec: {storageClassName: gold, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: static}
spec: {storageClassName: "", accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Ti}}}
Y
until_ok 20 event nowhere 'ProvisioningFailed: storageclass.storage.k8s.io "gold" not found' || fail "no event for an unknown class"
until_ok 20 event static "FailedBinding: no persistent volumes available for this claim and no storage class is set" \
  || fail "no event for a claim no volume fits"
phase pvc nowhere Pending && phase pvc static Pending || fail "unbindable claims not Pending"
err=$(K apply -f - 2>&1 <<'Y') && fail "a bad quantity was accepted"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: bad}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: lots}}}
Y
grep -q "quantities must match the regular expression" <<<"$err" || fail "bad quantity error: $err"
echo "PASS"
