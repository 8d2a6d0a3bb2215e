#!/usr/bin/env bash
# systemd's notify protocol as the .deb's Type=notify unit with WatchdogSec relies on: READY=1 once
# node-1 is registered (not before), WATCHDOG=1 more often than WATCHDOG_USEC, STOPPING=1 and exit
# 0 on SIGTERM; and a SIGTERM while registration still retries (no master) exits 0 promptly
# without READY. The test plays systemd: a datagram socket of its own as NOTIFY_SOCKET.
. "$(dirname "$0")/lib.sh"
LISTENER=""
trap '[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null; cleanup' EXIT

# listen SOCKET OUT: each datagram as "<monotonic seconds> <message, newlines as |>" in OUT.
listen() {
  python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w", buffering=1) as f:
    while True:
        d = s.recv(4096).decode()
        f.write("%.3f %s\n" % (time.monotonic(), d.replace("\n", "|")))
' "$1" "$2" &
  LISTENER=$!
  until_ok 10 test -S "$1" || fail "notify socket $1 not bound"
}

step "READY after registration, WATCHDOG within the interval"
listen "$T/notify.sock" "$T/notify.txt"
start_master
export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000
start_agent
until_ok 60 node_ready || fail "node-1 did not become Ready"
until_ok 10 grep -q 'READY=1|STATUS=node registered' "$T/notify.txt" ||
  fail "no READY=1: $(cat "$T/notify.txt")"
sleep 3
ready_at=$(awk '/READY=1/ {print $1; exit}' "$T/notify.txt")
# Every gap between watchdog pings after READY must stay under WATCHDOG_USEC (1 s), else systemd
# would kill the agent; at least 4 pings in the 3 s.
gaps=$(awk -v r="$ready_at" '$2 == "WATCHDOG=1" && $1 >= r { if (p) printf "%.3f\n", $1 - p; p = $1; n++ }
  END { if (n < 4) print "only-" n "-pings" }' "$T/notify.txt")
grep -q only- <<<"$gaps" && fail "too few WATCHDOG=1 after READY: $gaps"
awk '$1 >= 1.0 { bad = 1 } END { exit bad }' <<<"$gaps" || fail "a watchdog gap reached 1 s: $gaps"
grep -m1 -n READY=1 "$T/notify.txt" | grep -q '^1:' || fail "something was notified before READY"

step "SIGTERM: STOPPING=1, exit 0"
kill -TERM "$AGENT_PID"
rc=0
wait "$AGENT_PID" || rc=$?
AGENT_PID=""
[ "$rc" = 0 ] || fail "agent exited $rc on SIGTERM"
until_ok 5 grep -q 'STOPPING=1' "$T/notify.txt" || fail "no STOPPING=1: $(tail -3 "$T/notify.txt")"

step "SIGTERM while registration retries: exit 0 within 10 s, no READY"
kill "$MASTER_PID"
wait "$MASTER_PID" 2>/dev/null || true
MASTER_PID=""
: >"$T/notify.txt"
start_agent
sleep 4
kill -TERM "$AGENT_PID"
t0=$SECONDS
rc=0
wait "$AGENT_PID" || rc=$?
AGENT_PID=""
[ "$rc" = 0 ] || fail "agent exited $rc on SIGTERM during registration"
[ $((SECONDS - t0)) -le 10 ] || fail "agent took $((SECONDS - t0)) s to stop"
if grep -q READY=1 "$T/notify.txt"; then fail "READY=1 without a master"; fi
echo PASS
