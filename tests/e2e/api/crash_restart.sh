#!/usr/bin/env bash
# Crash test: concurrent creates, kill -9, restart. Every acknowledged object is there,
# revisions keep increasing, and a watcher resumes from its last resourceVersion.
. "$(dirname "$0")/lib.sh"
$PY -c 'import kubernetes' 2>/dev/null || { echo "SKIP: python3-kubernetes not installed"; exit 0; }
start_master
# 8 writers create ConfigMaps as fast as they can; each records what the server acknowledged.
$PY - "$T" <<'PYEOF' &
import sys, threading
from kubernetes import client, config
config.load_kube_config()
t = sys.argv[1]
def writer(i):
    v1 = client.CoreV1Api()
    with open(f"{t}/acked.{i}", "a", buffering=1) as f:
        n = 0
        while True:
            name = f"w{i}-{n}"
            try:
                o = v1.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"n": str(n)}))
            except Exception:
                return
            f.write(f"{name} {o.metadata.resource_version}\n")
            n += 1
ts = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
[x.start() for x in ts]
[x.join() for x in ts]
PYEOF
WRITERS=$!
EXTRA_PIDS+=("$WRITERS")
sleep 3
kill9_master
wait "$WRITERS" 2>/dev/null || true
acked=$(cat "$T"/acked.* | wc -l)
[ "$acked" -gt 20 ] || fail "only $acked creates acknowledged before the kill"
max_rv=$(cat "$T"/acked.* | awk '{print $2}' | sort -n | tail -1)
start_master
kubectl get cm -n default -o name | sed 's#^configmap/##' | sort >"$T/present"
present=$(grep -c '^w' "$T/present" || true)
missing=$(cat "$T"/acked.* | awk '{print $1}' | sort | comm -23 - "$T/present" | head -5)
[ -z "$missing" ] || fail "acknowledged objects lost after kill -9: $missing"
[ "$present" -ge "$acked" ] || fail "present $present < acked $acked"
rv=$(kubectl create cm after-restart -o jsonpath='{.metadata.resourceVersion}')
[ "$rv" -gt "$max_rv" ] || fail "revision went backwards: $rv <= $max_rv"
# A watcher resumes from a resourceVersion it saw before the crash.
out=$(kubectl get --raw "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=$max_rv&timeoutSeconds=1")
expect_has "$out" '"name":"after-restart"' "resumed watch"
echo "acked=$acked present=$present max_rv=$max_rv after=$rv"
echo PASS
