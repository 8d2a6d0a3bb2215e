#!/usr/bin/env bash
# etcd members for the etcd e2e tests, on loopback ports of the namespace the test runs in, with
# their data in $T (the sourcing lib's work dir). PID[name] is every process the test started
# here (members, masters, writers), for its cleanup to stop by pid.
declare -A PID CPORT PPORT
now() { date +%s.%N; }
since() { python3 -c "import time;print(f'{time.time()-$1:.1f}')"; }
# post_configmap HOST:PORT NAME: creates ConfigMap NAME through that master as the admin of m1's
# PKI with curl (so that a hang shows as a timeout, not as kubectl's retries); prints the HTTP
# status, the reply goes to $T/write.json.
post_configmap() {
  curl -s -m 60 -o "$T/write.json" -w '%{http_code}' --cacert "$T/m1/pki/ca.crt" \
    --cert "$T/m1/pki/admin.crt" --key "$T/m1/pki/admin.key" -H 'Content-Type: application/json' \
    -d "{\"metadata\":{\"name\":\"$2\"}}" "https://$1/api/v1/namespaces/default/configmaps" || true
}
# expect_no_quorum_error HOST:PORT: a create through that master while etcd has no quorum fails
# with a 5xx Status within 30 s instead of hanging.
expect_no_quorum_error() {
  local t0 code took
  t0=$(now)
  code=$(post_configmap "$1" no-quorum)
  took=$(since "$t0")
  echo "without quorum after ${took}s: HTTP $code $(cat "$T/write.json")"
  [ "${code:-0}" -ge 500 ] && grep -q '"kind":"Status"' "$T/write.json" || fail "want a 5xx Status, got HTTP $code"
  python3 -c "import sys; sys.exit(0 if $took <= 30 else 1)" || fail "the failed write took ${took}s (> 30 s)"
}
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# etcd_cluster NAME...: one member per name on loopback ports, started and healthy; SERVERS is
# the --etcd-servers list.
etcd_cluster() {
  ETCD_CLUSTER=
  SERVERS=
  for m in "$@"; do
    CPORT[$m]=$(port); PPORT[$m]=$(port)
    ETCD_CLUSTER="$ETCD_CLUSTER${ETCD_CLUSTER:+,}$m=http://127.0.0.1:${PPORT[$m]}"
    SERVERS="$SERVERS${SERVERS:+,}http://127.0.0.1:${CPORT[$m]}"
  done
  for m in "$@"; do etcd_start "$m"; done
  for _ in $(seq 1 100); do
    ETCDCTL_API=3 etcdctl --endpoints "$SERVERS" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "etcd did not become healthy"
}
# etcd_start NAME: (re)starts one member of the cluster etcd_cluster made.
etcd_start() {
  etcd --name "$1" --data-dir "$T/$1" --listen-client-urls "http://127.0.0.1:${CPORT[$1]}" \
    --advertise-client-urls "http://127.0.0.1:${CPORT[$1]}" \
    --listen-peer-urls "http://127.0.0.1:${PPORT[$1]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${PPORT[$1]}" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new >>"$T/$1.log" 2>&1 &
  PID[$1]=$!
}
# kill9 NAME: kill -9 of a member or master, waited for.
kill9() { kill -9 "${PID[$1]}"; wait "${PID[$1]}" 2>/dev/null || true; }
