#!/usr/bin/env bash
# A 3-replica busybox Deployment reaches Running; kubectl logs, logs -f, exec and exec -i work
# through skiff-master's proxy to the kubelet API, over WebSocket and over SPDY (kubectl <= 1.29).
. "$(dirname "$0")/lib.sh"
start_cluster
step "deployment of 3 busybox replicas"
deployment_yaml web 3 '["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"]' |
  k apply -f - >/dev/null
until_ok 120 running_with app=web 3 || { k get pods -o wide; fail "3 replicas not Running"; }
P=$(k get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
step "kubectl logs"
until_ok 20 bash -c "kubectl logs $P | grep -q 'tick 1'" || fail "logs do not show ticks"
step "kubectl exec -- cat /etc/hostname equals the pod name"
h=$(k exec "$P" -- cat /etc/hostname)
[ "$h" = "$P" ] || fail "hostname '$h' != pod '$P'"
step "kubectl exec -i with stdin"
out=$(echo "hello from stdin" | k exec -i "$P" -- cat)
[ "$out" = "hello from stdin" ] || fail "exec -i returned '$out'"
step "exit code is propagated"
set +e; k exec "$P" -- sh -c 'exit 3'; rc=$?; set -e
[ $rc = 3 ] || fail "exec exit code $rc, want 3"
step "exec over SPDY (kubectl <= 1.29, and the fallback): stdin, stdout, stderr, exit code"
spdy() { KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false k "$@"; }
out=$(echo "spdy stdin" | spdy exec -i "$P" -- sh -c 'cat; echo to-stderr >&2' 2>&1)
grep -qx "spdy stdin" <<<"$out" && grep -qx "to-stderr" <<<"$out" || fail "SPDY exec -i returned '$out'"
set +e; spdy exec "$P" -- sh -c 'exit 4'; rc=$?; set -e
[ $rc = 4 ] || fail "SPDY exec exit code $rc, want 4"
out=$( (sleep 1; printf 'echo tty-$((6*7)); exit\r'; sleep 2) |
       timeout 30 script -qec "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false kubectl exec -it $P -- sh" /dev/null 2>&1) || true
grep -q "tty-42" <<<"$out" || fail "SPDY exec -it returned '$out'"
step "kubelet events: Pulled, Created, Started"
ev=$(k describe pod "$P" | sed -n '/^Events:/,$p')
for want in "Pulled .*Container image \"busybox\" already present on machine" \
            "Created .*Created container: main" "Started .*Started container main"; do
  grep -Eq "$want" <<<"$ev" || { echo "$ev"; fail "kubectl describe shows no event matching '$want'"; }
done
k get events --field-selector involvedObject.name="$P" -o jsonpath='{.items[*].source.component}' |
  grep -qw kubelet || fail "events do not come from source component kubelet"
step "OOM score adjustment (kubelet QoS policy)"
[ "$(k exec "$P" -- cat /proc/1/oom_score_adj)" = 1000 ] || fail "BestEffort container oom_score_adj != 1000"
# Lowering a score needs CAP_SYS_RESOURCE; where the host withholds it (nested containers) the
# agent and Guaranteed pods keep the score they inherit.
if sh -c 'echo -1 >/proc/self/oom_score_adj' 2>/dev/null; then LOW=1; else LOW=""; fi
if [ -n "$LOW" ]; then
  [ "$(cat /proc/$AGENT_PID/oom_score_adj)" = -999 ] || fail "agent oom_score_adj != -999"
fi
busybox_pod guaranteed '["sleep", "3600"]' \
  '{requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}' | k apply -f - >/dev/null
until_ok 60 pod_running guaranteed || fail "guaranteed pod not Running"
want=-997; [ -n "$LOW" ] || want=$(cat /proc/$AGENT_PID/oom_score_adj)
[ "$(k exec guaranteed -- cat /proc/1/oom_score_adj)" = "$want" ] || fail "Guaranteed container oom_score_adj != $want"
step "kubectl logs -f"
timeout 4 kubectl logs -f --tail=1 "$P" >"$T/follow.txt" 2>&1 || true
[ "$(grep -c tick "$T/follow.txt")" -ge 3 ] || { cat "$T/follow.txt"; fail "logs -f did not stream"; }
echo PASS
