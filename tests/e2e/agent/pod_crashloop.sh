#!/usr/bin/env bash
# A failing container goes to CrashLoopBackOff and the delays between restarts grow.
. "$(dirname "$0")/lib.sh"
start_cluster
cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "echo dying; exit 1"]}]
Y
reason() { kubectl get pod crash -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}'; }
restarts() { kubectl get pod crash -o jsonpath='{.status.containerStatuses[0].restartCount}'; }
step "CrashLoopBackOff"
until_ok 60 bash -c '[ "$(kubectl get pod crash -o jsonpath="{.status.containerStatuses[0].state.waiting.reason}")" = CrashLoopBackOff ]' ||
  fail "no CrashLoopBackOff (reason=$(reason))"
k get pod crash -o jsonpath='{.status.containerStatuses[0].state.waiting.message}' | grep -q "back-off" ||
  fail "no back-off message"
k get pod crash -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}' | grep -qx 1 ||
  fail "lastState.terminated.exitCode != 1"
step "growing delays"
# Record when restartCount changes; gaps must grow (10 s, 20 s, ...).
last=$(restarts); t_last=$SECONDS; gaps=()
deadline=$((SECONDS + 75))
while [ ${#gaps[@]} -lt 2 ] && [ $SECONDS -lt $deadline ]; do
  sleep 1
  r=$(restarts)
  if [ "$r" != "$last" ]; then gaps+=($((SECONDS - t_last))); last=$r; t_last=$SECONDS; fi
done
echo "restart gaps: ${gaps[*]:-none}"
[ ${#gaps[@]} -ge 2 ] || fail "fewer than 2 restarts observed"
[ "${gaps[1]}" -gt "${gaps[0]}" ] || fail "delays did not grow: ${gaps[*]}"
step "kubelet events: BackOff, and repeats counted on one Event"
evs() { kubectl get events --field-selector involvedObject.name=crash -o jsonpath="$1"; }
evs '{.items[?(@.reason=="BackOff")].message}' | grep -q "Back-off restarting failed container c in pod crash_default(" ||
  fail "no BackOff event: $(kubectl get events --field-selector involvedObject.name=crash)"
evs '{.items[?(@.reason=="BackOff")].type}' | grep -qw Warning || fail "BackOff event is not a Warning"
started=$(evs '{.items[?(@.reason=="Started")].count}')
[ "$(wc -w <<<"$started")" = 1 ] && [ "$started" -ge 3 ] ||
  fail "Started events not aggregated into one with count >= 3: '$started'"
evs '{.items[?(@.reason=="Started")].involvedObject.fieldPath}' | grep -qx 'spec.containers{c}' ||
  fail "Started event has no fieldPath spec.containers{c}"
echo PASS
