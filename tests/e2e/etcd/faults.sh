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
t0=$(now)
code=$(curl -s -m 60 -o "$T/no-quorum.json" -w '%{http_code}' --cacert "$T/m1/pki/ca.crt" \
  --cert "$T/m1/pki/admin.crt" --key "$T/m1/pki/admin.key" -H 'Content-Type: application/json' \
  -d '{"metadata":{"name":"no-quorum"}}' \
  "https://127.0.0.1:${MPORT[m1]}/api/v1/namespaces/default/configmaps" || true)
took=$(since "$t0")
echo "without quorum after ${took}s: HTTP $code $(cat "$T/no-quorum.json")"
[ "${code:-0}" -ge 500 ] && grep -q '"kind":"Status"' "$T/no-quorum.json" ||
  fail "want a 5xx Status, got HTTP $code"
python3 -c "import sys; sys.exit(0 if $took <= 30 else 1)" || fail "the failed write took ${took}s (> 30 s)"
echo "== a member back: writes work again"
etcd_start e2
t0=$(now)
for _ in $(seq 1 120); do k m1 create configmap quorum-back >/dev/null 2>&1 && break; sleep 0.5; done
k m1 get configmap quorum-back >/dev/null 2>&1 || fail "no write after e2 returned"
echo "writes again $(since "$t0")s after e2 was started"
etcd_start e1

echo "== kill -9 the master during 1,000 creates"
cat >"$T/writer.py" <<'PY'
import http.client, json, ssl, sys, time
tmp, ports = sys.argv[1], sys.argv[2].split(",")
ctx = ssl.create_default_context(cafile=f"{tmp}/m1/pki/ca.crt")
ctx.load_cert_chain(f"{tmp}/m1/pki/admin.crt", f"{tmp}/m1/pki/admin.key")
path = "/api/v1/namespaces/default/configmaps"
which, conn = 0, None
def send(method, url, body=None):
    global conn, which
    for attempt in range(200):
        try:
            if conn is None:
                conn = http.client.HTTPSConnection("127.0.0.1", int(ports[which]), context=ctx, timeout=10)
            conn.request(method, url, json.dumps(body) if body else None,
                         {"Content-Type": "application/json", "Accept": "application/json"})
            r = conn.getresponse()
            return r.status, json.loads(r.read() or b"{}")
        except (OSError, http.client.HTTPException):
            conn = None
            if method != "GET":
                return None, None  # sent, outcome unknown: the caller looks before trying again
            which = (which + 1) % len(ports)
            time.sleep(0.05)
    raise SystemExit("no master answered")
acked, unknown = {}, 0
for seq in range(1000):
    while True:
        body = {"metadata": {"generateName": "w-", "labels": {"run": "faults", "seq": str(seq)}},
                "data": {"seq": str(seq)}}
        st, obj = send("POST", path, body)
        if st == 201:
            acked[seq] = obj["metadata"]["name"]
            break
        if st is None:
            unknown += 1
            which = (which + 1) % len(ports)
            st, lst = send("GET", f"{path}?labelSelector=run%3Dfaults%2Cseq%3D{seq}")
            if st == 200 and lst["items"]:
                acked[seq] = lst["items"][0]["metadata"]["name"]
                break
            continue
        if st >= 500:
            time.sleep(0.1)
            continue
        raise SystemExit(f"create {seq}: HTTP {st} {obj}")
    if seq % 100 == 0:
        print(f"{seq} created", flush=True)
json.dump({"acked": acked, "unknown": unknown}, open(f"{tmp}/acked.json", "w"))
print(f"1000 acknowledged; {unknown} writes of unknown outcome looked up before retrying")
PY
python3 "$T/writer.py" "$T" "${MPORT[m1]},${MPORT[m2]}" >"$T/writer.log" 2>&1 &
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
python3 - "$T" <<'PY' || fail "acknowledged objects missing or created twice"
import collections, json, sys
tmp = sys.argv[1]
acked = json.load(open(f"{tmp}/acked.json"))["acked"]
items = json.load(open(f"{tmp}/all.json"))["items"]
names = {i["metadata"]["name"] for i in items}
per_seq = collections.Counter(i["metadata"]["labels"]["seq"] for i in items)
missing = [n for n in acked.values() if n not in names]
twice = [s for s, c in per_seq.items() if c > 1]
print(f"{len(items)} objects, {len(acked)} acknowledged, missing {len(missing)}, created twice {len(twice)}")
sys.exit(1 if missing or twice or len(items) != 1000 else 0)
PY
echo PASS
