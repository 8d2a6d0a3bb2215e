#!/usr/bin/env bash
# Masters on a three-member etcd under faults (issue 23), on loopback ports:
#  - one member stopped: writes go on;
#  - two stopped (no quorum): a write fails with a 5xx Status within seconds, not a hang, and
#    works again once a member is back;
#  - kill -9 of the master in the middle of 1,000 creates (generateName, each with its sequence
#    number), the writer moving to the other master: every acknowledged object is there and no
#    sequence number was created twice.
# Skipped without Debian's etcd-server.
. "$(dirname "$0")/lib.sh"
etcd_cluster e1 e2 e3
master_start m1
mkdir -p "$T/m2" && cp -a "$T/m1/pki" "$T/m2/pki"
master_start m2

echo "== one etcd member stopped: writes go on"
kill9 e1
t0=$(now)
for i in $(seq 1 20); do k m1 create configmap one-down-$i >/dev/null || fail "write $i failed with one member down"; done
echo "20 writes with e1 down in $(since "$t0")s"

echo "== two stopped (no quorum): a clear 5xx, not a hang"
kill9 e2
expect_no_quorum_error "127.0.0.1:${MPORT[m1]}"
echo "== a member back: writes work again"
etcd_start e2
t0=$(now)
for _ in $(seq 1 120); do k m1 create configmap quorum-back >/dev/null 2>&1 && break; sleep 0.5; done
k m1 get configmap quorum-back >/dev/null 2>&1 || fail "no write after e2 returned"
echo "writes again $(since "$t0")s after e2 was started"
etcd_start e1

echo "== kill -9 the master during 1,000 creates"
W_PY=$(dirname "$0")/writer.py
python3 "$W_PY" write "$T/m1/pki" "$T/acked.json" "127.0.0.1:${MPORT[m1]},127.0.0.1:${MPORT[m2]}" >"$T/writer.log" 2>&1 &
W=$!; PID[writer]=$W
until grep -q "^300 created" "$T/writer.log" 2>/dev/null; do
  kill -0 $W 2>/dev/null || fail "writer ended early: $(tail -3 "$T/writer.log")"; sleep 0.1
done
kill9 m1
echo "m1 killed at $(tail -1 "$T/writer.log")"
master_start m1
until grep -q "^700 created" "$T/writer.log" 2>/dev/null; do
  kill -0 $W 2>/dev/null || fail "writer ended early: $(tail -3 "$T/writer.log")"; sleep 0.1
done
kill9 m2
echo "m2 killed at $(tail -1 "$T/writer.log")"
wait $W || fail "writer failed: $(tail -5 "$T/writer.log")"
tail -1 "$T/writer.log"
k m1 get configmaps -l run=faults -o json >"$T/all.json"
python3 "$W_PY" check "$T/acked.json" "$T/all.json" || fail "acknowledged objects missing or created twice"
echo PASS
