#!/usr/bin/env bash
# The agent joins with a bootstrap token (CA pinned by hash), registers node-1 with this
# machine's capacity, renews its Lease and reports Ready; a later start needs no token.
. "$(dirname "$0")/lib.sh"
step "join and become Ready"
start_cluster --node-labels tier=e2e --register-with-taints dedicated=e2e:PreferNoSchedule
step "capacity is this machine's"
cpu=$(k get node node-1 -o jsonpath='{.status.capacity.cpu}')
[ "$cpu" = "$(nproc)" ] || fail "capacity.cpu=$cpu, nproc=$(nproc)"
mem_ki=$(k get node node-1 -o jsonpath='{.status.capacity.memory}' | tr -d 'Ki')
host_ki=$(awk '/MemTotal/{print $2}' /proc/meminfo)
[ "$mem_ki" = "$host_ki" ] || fail "capacity.memory=${mem_ki}Ki, MemTotal=${host_ki}Ki"
[ "$(k get node node-1 -o jsonpath='{.status.capacity.pods}')" = 110 ] || fail "pods capacity"
k get node node-1 -o jsonpath='{.metadata.labels.tier}' | grep -qx e2e || fail "label tier=e2e missing"
k get node node-1 -o jsonpath='{.spec.taints[0].key}' | grep -qx dedicated || fail "taint missing"
k get node node-1 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}' |
  grep -qx "$NODE_IP" || fail "InternalIP is not $NODE_IP"
k get node node-1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}' |
  grep -qx KubeletReady || fail "Ready reason is not KubeletReady"
step "an extended resource PATCHed into capacity becomes allocatable and schedulable"
k patch node node-1 --subresource=status --type=merge \
  -p '{"status":{"capacity":{"example.com/fakecpu":"1k"}}}' >/dev/null
until_ok 30 bash -c '[ "$(kubectl get node node-1 -o jsonpath="{.status.allocatable.example\.com/fakecpu}")" = 1k ]' ||
  fail "allocatable has no example.com/fakecpu: $(kubectl get node node-1 -o jsonpath='{.status.allocatable}')"
fake_pod() {
  busybox_pod "$1" '["sleep", "3600"]' \
    '{requests: {example.com/fakecpu: 600}, limits: {example.com/fakecpu: 600}}' | k apply -f - >/dev/null
}
fake_pod fake-1
until_ok 30 bash -c '[ "$(kubectl get pod fake-1 -o jsonpath="{.spec.nodeName}")" = node-1 ]' ||
  fail "pod requesting example.com/fakecpu not scheduled"
fake_pod fake-2
until_ok 30 bash -c 'kubectl get events --field-selector involvedObject.name=fake-2,reason=FailedScheduling \
  -o jsonpath="{.items[*].message}" | grep -q "Insufficient example.com/fakecpu"' ||
  fail "second pod not refused for example.com/fakecpu: $(kubectl get events --field-selector involvedObject.name=fake-2)"
k delete pod fake-1 fake-2 --grace-period=0 --force >/dev/null 2>&1 || true
step "lease renewed"
r1=$(k get lease -n kube-node-lease node-1 -o jsonpath='{.spec.renewTime}')
sleep 11
r2=$(k get lease -n kube-node-lease node-1 -o jsonpath='{.spec.renewTime}')
[ -n "$r1" ] && [ "$r1" != "$r2" ] || fail "lease not renewed ($r1 -> $r2)"
step "healthz on 127.0.0.1:10248"
curl -fsS http://127.0.0.1:10248/healthz | grep -qx ok || fail "healthz"
step "restart without a token reuses the stored credentials"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true
start_agent
sleep 3
kill -0 "$AGENT_PID" || fail "agent exited on restart"
grep -q "Node was previously registered" "$T/agent.log" || fail "no re-registration"
echo PASS
