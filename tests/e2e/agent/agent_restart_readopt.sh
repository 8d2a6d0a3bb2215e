#!/usr/bin/env bash
# SIGKILL skiff-agent and start it again: the running pod is re-adopted, not restarted.
. "$(dirname "$0")/lib.sh"
start_cluster
busybox_pod survivor '["sh", "-c", "sleep 3600"]' | k apply -f - >/dev/null
until_ok 60 pod_running survivor || fail "pod not Running"
id1=$(k get pod survivor -o jsonpath='{.status.containerStatuses[0].containerID}')
rc1=$(k get pod survivor -o jsonpath='{.status.containerStatuses[0].restartCount}')
started1=$(k get pod survivor -o jsonpath='{.status.containerStatuses[0].state.running.startedAt}')
step "SIGKILL the agent and start it again"
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true
start_agent
sleep 8
kill -0 "$AGENT_PID" || fail "agent did not come back"
until_ok 30 node_ready || fail "node not Ready after restart"
id2=$(k get pod survivor -o jsonpath='{.status.containerStatuses[0].containerID}')
rc2=$(k get pod survivor -o jsonpath='{.status.containerStatuses[0].restartCount}')
started2=$(k get pod survivor -o jsonpath='{.status.containerStatuses[0].state.running.startedAt}')
[ "$rc1" = "$rc2" ] || fail "restartCount changed: $rc1 -> $rc2"
[ "$id1" = "$id2" ] || fail "containerID changed: $id1 -> $id2"
[ "$started1" = "$started2" ] || fail "container restarted: $started1 -> $started2"
[ "$(pod_phase survivor)" = Running ] || fail "pod not Running after agent restart"
echo PASS
