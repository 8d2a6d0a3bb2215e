#!/usr/bin/env bash
# kubectl delete pod honours the grace period: SIGTERM first, SIGKILL only after the grace
# period; a container that ignores SIGTERM takes the whole grace period to go.
. "$(dirname "$0")/lib.sh"
start_cluster
cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 6
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: polite}
spec:
  terminationGracePeriodSeconds: 30
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]
Y
until_ok 60 pod_running stubborn || fail "stubborn not Running"
until_ok 60 pod_running polite || fail "polite not Running"
step "a container ignoring SIGTERM is killed after the grace period"
t0=$SECONDS
k delete pod stubborn --wait=true >/dev/null
dt=$((SECONDS - t0))
echo "stubborn took ${dt}s (grace 6s)"
[ $dt -ge 5 ] && [ $dt -le 20 ] || fail "delete took ${dt}s for a 6 s grace period"
step "a container exiting on SIGTERM goes at once"
t0=$SECONDS
k delete pod polite --wait=true >/dev/null
dt=$((SECONDS - t0))
echo "polite took ${dt}s (grace 30s)"
[ $dt -le 10 ] || fail "delete took ${dt}s although the container exits on SIGTERM"
echo PASS
