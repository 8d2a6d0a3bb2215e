#!/usr/bin/env bash
# A failing container goes to CrashLoopBackOff and the delays between restarts grow.
. "$(dirname "$0")/lib.sh"
start_cluster
busybox_pod crash '["sh", "-c", "echo dying; exit 1"]' | k apply -f - >/dev/null
# Termination messages (the four upstream conformance cases) and an init container failing a
# restartPolicy Never pod, run beside the crash loop.
tm_pod() {  # name, policy, path, script, [runAsUser]
  echo ---
  pod_yaml "$1" --spec 'restartPolicy: Never' "[\"/bin/sh\", \"-c\", \"$4\"]" "terminationMessagePath: $3" \
    "terminationMessagePolicy: $2" "securityContext: {runAsUser: ${5:-0}}"
}
{
  tm_pod tm-nonroot File /dev/termination-custom-log '/bin/echo -n DONE > /dev/termination-custom-log' 1000
  tm_pod tm-fromlog FallbackToLogsOnError /dev/termination-log '/bin/echo -n DONE; /bin/false'
  tm_pod tm-empty FallbackToLogsOnError /dev/termination-log '/bin/echo -n DONE; /bin/true'
  tm_pod tm-file FallbackToLogsOnError /dev/termination-log '/bin/echo -n OK > /dev/termination-log; /bin/echo DONE; /bin/true'
  cat <<Y
---
apiVersion: v1
kind: Pod
metadata: {name: init-fail}
spec:
  restartPolicy: Never
  initContainers:
  - {name: init1, image: busybox, imagePullPolicy: IfNotPresent, command: ["/bin/true"]}
  - {name: init2, image: busybox, imagePullPolicy: IfNotPresent, command: ["/bin/false"]}
  containers:
  - {name: run1, image: busybox, imagePullPolicy: IfNotPresent, command: ["/bin/true"]}
Y
} | k apply -f - >/dev/null
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
step "termination messages"
phase() { kubectl get pod "$1" -o jsonpath='{.status.phase}'; }
message() { kubectl get pod "$1" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}'; }
for want in tm-nonroot:Succeeded:DONE tm-fromlog:Failed:DONE tm-empty:Succeeded: tm-file:Succeeded:OK; do
  IFS=: read -r name ph msg <<<"$want"
  until_ok 60 bash -c "[ \"\$(kubectl get pod $name -o jsonpath='{.status.phase}')\" = $ph ]" ||
    fail "$name: phase $(phase "$name"), want $ph"
  [ "$(message "$name")" = "$msg" ] || fail "$name: termination message '$(message "$name")', want '$msg'"
done
k describe pod tm-file | grep -qE '^ +Message: +OK$' || fail "kubectl describe shows no Message: OK"
step "init container failing a restartPolicy Never pod"
until_ok 60 bash -c '[ "$(kubectl get pod init-fail -o jsonpath="{.status.phase}")" = Failed ]' ||
  fail "init-fail: phase $(phase init-fail), want Failed"
cond() { kubectl get pod init-fail -o jsonpath="{.status.conditions[?(@.type==\"$1\")].$2}"; }
[ "$(cond Initialized status)/$(cond Initialized reason)" = False/ContainersNotInitialized ] ||
  fail "Initialized: $(cond Initialized status)/$(cond Initialized reason)"
[ "$(cond Initialized message)" = "containers with incomplete status: [init2]" ] ||
  fail "Initialized message: $(cond Initialized message)"
[ "$(cond Ready reason)" = ContainersNotReady ] || fail "Ready reason: $(cond Ready reason)"
[ "$(kubectl get pod init-fail -o jsonpath='{.status.initContainerStatuses[0].ready}')" = true ] ||
  fail "completed init1 is not ready"
kubectl get pod init-fail -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' |
  grep -qx PodInitializing || fail "run1 is not waiting in PodInitializing"
echo PASS
