#!/usr/bin/env bash
# Another program already holds the kubelet port (10250), as when a kubelet runs on the host:
# skiff-agent ends with its error and exit code 1 within seconds, instead of hanging on the
# threads it had started.
. "$(dirname "$0")/lib.sh"
start_master
python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 10250)); s.listen(); time.sleep(600)' &
HOLDER=$!
until_ok 10 bash -c "ss -ltn | grep -q ':10250 '" || fail "could not take port 10250"
step "skiff-agent with port 10250 taken"
start_agent
for _ in $(seq 1 120); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$AGENT_PID" 2>/dev/null; then fail "the agent is still running 60 s after it could not serve"; fi
rc=0; wait "$AGENT_PID" || rc=$?
AGENT_PID=""
kill "$HOLDER" 2>/dev/null || true
[ "$rc" = 1 ] || fail "exit code $rc, want 1"
grep -q 'Agent failed.*10250' "$T/agent.log" || fail "no 'Agent failed' line naming the port"
grep 'Agent failed' "$T/agent.log"
echo PASS
