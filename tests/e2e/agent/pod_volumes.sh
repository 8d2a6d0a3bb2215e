#!/usr/bin/env bash
# configMap, secret and emptyDir volumes are visible inside the container.
. "$(dirname "$0")/lib.sh"
start_cluster
cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {password: $(printf s3cr3t | base64)}
Y
cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: vols}
spec:
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo scratch > /scratch/f; sleep 3600"]
    env: [{name: FROM_CM, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}]
    volumeMounts:
    - {name: c, mountPath: /etc/cfg}
    - {name: s, mountPath: /etc/sec}
    - {name: e, mountPath: /scratch}
  volumes:
  - {name: c, configMap: {name: cfg}}
  - {name: s, secret: {secretName: sec}}
  - {name: e, emptyDir: {}}
Y
until_ok 60 pod_running vols || fail "pod not Running"
[ "$(k exec vols -- cat /etc/cfg/greeting)" = hello ] || fail "configMap volume"
[ "$(k exec vols -- cat /etc/sec/password)" = s3cr3t ] || fail "secret volume"
[ "$(k exec vols -- cat /scratch/f)" = scratch ] || fail "emptyDir volume"
[ "$(k exec vols -- sh -c 'echo $FROM_CM')" = hello ] || fail "configMapKeyRef env"
step "configMap update reaches the volume"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {greeting: updated}\n' | k apply -f - >/dev/null
until_ok 90 bash -c '[ "$(kubectl exec vols -- cat /etc/cfg/greeting)" = updated ]' || fail "configMap update not visible within the sync period"
echo PASS
