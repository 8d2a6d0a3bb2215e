#!/usr/bin/env bash
# Bad input gets a clear Status and the server keeps serving everyone else: malformed JSON,
# wrong kind for the URL, oversized bodies, unknown fields with fieldValidation=Strict, protobuf
# and YAML bodies, a compacted watch revision, a watcher that never reads, many idle connections.
. "$(dirname "$0")/lib.sh"
start_master --store-retain-revisions 20
A=$(api)
code() { kcurl -o "$T/body" -w '%{http_code}' "$@"; }

c=$(code -X POST -H 'Content-Type: application/json' --data '{"kind":"ConfigMap",' "$A/api/v1/namespaces/default/configmaps")
expect_eq "$c" 400 "malformed JSON"; expect_has "$(cat "$T/body")" '"reason":"BadRequest"'
expect_has "$(cat "$T/body")" '"status":"Failure"'

c=$(code -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}' "$A/api/v1/namespaces/default/pods")
expect_eq "$c" 400 "wrong kind"; expect_has "$(cat "$T/body")" 'must be of type Pod'

c=$(code -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"-bad-"}}' "$A/api/v1/namespaces/default/configmaps")
expect_eq "$c" 422 "bad name"; expect_has "$(cat "$T/body")" '"field":"metadata.name"'

head -c 3200000 /dev/zero | tr '\0' 'a' | sed 's/^/{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"/; s/$/"}}/' >"$T/big.json"
c=$(code -X POST -H 'Content-Type: application/json' --data-binary @"$T/big.json" "$A/api/v1/namespaces/default/configmaps")
expect_eq "$c" 413 "oversized body"; expect_has "$(cat "$T/body")" 'RequestEntityTooLarge'

c=$(code -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replica":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x","imag":"y"}]}}}}' "$A/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict")
expect_eq "$c" 400 "strict unknown field"
expect_has "$(cat "$T/body")" 'strict decoding error: unknown field \"spec.replica\"'
expect_has "$(cat "$T/body")" 'unknown field \"spec.template.spec.containers[0].imag\"'

# Protobuf: decoded for the built-in kinds (kubectl create uses it), 415 for others, 400 garbage.
printf 'k8s\0\x0a\x18\x0a\x0eexample.com/v1\x12\x06Widget' >"$T/pb"
c=$(code -X POST -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary @"$T/pb" "$A/api/v1/namespaces/default/configmaps")
expect_eq "$c" 415 "protobuf of an unknown kind"; expect_has "$(cat "$T/body")" 'UnsupportedMediaType'
printf 'k8s\0\x0a\x02v1' >"$T/pb2"
c=$(code -X POST -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary @"$T/pb2" "$A/api/v1/namespaces/default/configmaps")
expect_eq "$c" 400 "malformed protobuf"
c=$(code -X POST -H 'Content-Type: application/yaml' --data-binary $'apiVersion: v1\nkind: ConfigMap\n' "$A/api/v1/namespaces/default/configmaps")
expect_eq "$c" 415 "yaml body"
c=$(code -X POST -H 'Content-Type: application/yaml' --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"yaml-as-json"}}' "$A/api/v1/namespaces/default/configmaps")
expect_eq "$c" 201 "JSON sent as application/yaml"

# 410 Expired for a compacted revision, in-stream (what Python understands) on a 200 watch.
for i in $(seq 1 50); do kubectl create cm "churn-$i" >/dev/null; done
out=$(kubectl get --raw "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2")
expect_has "$out" '"type":"ERROR"'; expect_has "$out" '"code":410'; expect_has "$out" '"reason":"Expired"'
c=$(code "$A/api/v1/nodes/x/nope"); expect_eq "$c" 404 "unknown path"

# A watcher that never reads, while large objects churn: it is cut off, others are served.
$PY - "$PORT" "$T" <<'PYEOF' &
import socket, ssl, sys, time
port, t = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=f"{t}/data/pki/ca.crt")
ctx.load_cert_chain(f"{t}/data/pki/admin.crt", f"{t}/data/pki/admin.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
s.sendall(b"GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(60)  # never read
PYEOF
EXTRA_PIDS+=($!)
payload=$(head -c 100000 /dev/zero | tr '\0' 'x')
for i in $(seq 1 15); do
  kubectl create cm "fat-$i" --from-literal=v="$payload" >/dev/null
done
start=$(date +%s%N)
k get cm -n default -o name >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "list took ${ms}ms with a stuck watcher"

# Many idle connections: the server keeps answering and cuts the idle ones off.
$PY - "$PORT" <<'PYEOF' &
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port = int(sys.argv[1])
socks = []
for i in range(min(10000, hard - 100)):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port)))
    except OSError:
        break
print(f"opened {len(socks)} idle connections", flush=True)
time.sleep(30)
PYEOF
EXTRA_PIDS+=($!)
sleep 4
start=$(date +%s%N)
out=$(k get ns)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_has "$out" "kube-system"
[ "$ms" -lt 5000 ] || fail "kubectl took ${ms}ms with idle connections open"
kill -0 "$MASTER_PID" || fail "server died"
echo PASS
