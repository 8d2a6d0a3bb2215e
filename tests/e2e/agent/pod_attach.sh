#!/usr/bin/env bash
# kubectl attach and kubectl run -i --rm through skiff-master's proxy to the kubelet API's
# /attach: stdin reaches the container's main process, its output comes back (and still goes
# to kubectl logs), with and without a TTY.
. "$(dirname "$0")/lib.sh"
start_cluster

step "kubectl run -i --rm: stdin in, output out, pod deleted"
out=$(echo "from-run" | k run rt1 -i --rm --restart=Never --image=busybox --image-pull-policy=IfNotPresent \
        -- sh -c 'read x; echo got-$x' 2>&1) || fail "kubectl run -i --rm failed: $out"
grep -q "got-from-run" <<<"$out" || fail "kubectl run -i output: $out"
gone() { ! kubectl get pod rt1 >/dev/null 2>&1; }
until_ok 30 gone || fail "kubectl run --rm left pod rt1 behind"

step "kubectl run -i --rm over SPDY (kubectl <= 1.29 attaches that way)"
out=$(echo "via-spdy" | KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false k run rt2 -i --rm --restart=Never --image=busybox \
        --image-pull-policy=IfNotPresent -- sh -c 'read x; echo got-$x' 2>&1) || fail "SPDY kubectl run -i --rm failed: $out"
grep -q "got-via-spdy" <<<"$out" || fail "SPDY kubectl run -i output: $out"

step "kubectl attach -i to a running pod with stdin"
pod_yaml reader --spec 'restartPolicy: Never' \
  '["sh", "-c", "echo ready; while read l; do echo line-$l; done; echo stdin-closed; exit 5"]' \
  'stdin: true' 'stdinOnce: true' | k apply -f - >/dev/null
until_ok 60 pod_running reader || { k get pods -o wide; fail "pod reader not Running"; }
out=$(printf 'a\nb\n' | k attach -i reader -c main 2>&1) || true
grep -q "line-a" <<<"$out" && grep -q "line-b" <<<"$out" || fail "attach -i output: $out"
step "stdinOnce: the end of the attach closed the container's stdin"
exited() { [ "$(kubectl get pod reader -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')" = 5 ]; }
until_ok 30 exited || { k get pod reader -o yaml | tail -30; fail "container did not exit 5 after stdin closed"; }
k logs reader | grep -q stdin-closed || fail "kubectl logs lacks the attached session's output"

step "kubectl attach -it to a TTY pod (through a pty)"
pod_yaml shell --spec 'restartPolicy: Never' '["sh"]' 'stdin: true' 'tty: true' | k apply -f - >/dev/null
until_ok 60 pod_running shell || { k get pods -o wide; fail "pod shell not Running"; }
out=$( (sleep 2; printf 'tty && echo tty-ok-$((6*7))\r'; sleep 2; printf 'exit 0\r'; sleep 2) |
       timeout 40 script -qec "kubectl attach -it shell -c main" /dev/null 2>&1) || true
grep -q "tty-ok-42" <<<"$out" || fail "attach -it output: $out"
done_ok() { [ "$(kubectl get pod shell -o jsonpath='{.status.phase}')" = Succeeded ]; }
until_ok 30 done_ok || fail "the TTY shell did not exit after 'exit'"
echo PASS
