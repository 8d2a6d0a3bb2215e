#!/usr/bin/env bash
# kubectl against skiff-master: version, api-resources, apply (twice), get in every output
# format, describe, label, annotate, the three patch types, server-side apply, scale, delete and
# the usual errors, exactly as a user types them.
. "$(dirname "$0")/lib.sh"
start_master

out=$(k version -o json); expect_has "$out" '"gitVersion": "v1.32.0"'
out=$(k api-resources); expect_has "$out" "deployments" ; expect_has "$out" "deploy"
expect_not "$out" "could also match"
out=$(k api-resources --api-group=apps -o name); expect_has "$out" "deployments.apps"

cat >"$T/app.yaml" <<'Y'
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
data: {password: czNjcmV0}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
        env: [{name: MODE, value: prod}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
Y
out=$(k apply -f "$T/app.yaml")
expect_has "$out" "namespace/shop created"; expect_has "$out" "deployment.apps/web created"
expect_has "$out" "service/web created"; expect_has "$out" "secret/creds created"
out=$(k apply -f "$T/app.yaml")
for o in namespace/shop configmap/cfg secret/creds deployment.apps/web service/web; do
  expect_has "$out" "$o unchanged" "second apply"
done

# Tables, wide, yaml, json, jsonpath.
out=$(k -n shop get deploy); expect_has "$out" "NAME   READY   UP-TO-DATE   AVAILABLE   AGE"
# UP-TO-DATE is 0 or 2 depending on whether the deployment controller has run yet.
grep -qE '^web +0/2 +[02] +0 ' <<<"$out" || fail "deployment row unexpected:"$'\n'"$out"
out=$(k -n shop get deploy -o wide); expect_has "$out" "CONTAINERS   IMAGES       SELECTOR"
expect_has "$out" "nginx        nginx:1.27   app=web"
out=$(k -n shop get svc web); expect_has "$out" "NAME   TYPE        CLUSTER-IP"
expect_has "$out" "80/TCP"
ip=$(k -n shop get svc web -o jsonpath='{.spec.clusterIP}')
[[ "$ip" == 10.9[6-9].* || "$ip" == 10.1[01][0-9].* ]] || fail "cluster IP $ip outside 10.96.0.0/12"
out=$(k get svc kubernetes -o jsonpath='{.spec.clusterIP}'); expect_eq "$out" "10.96.0.1" "kubernetes service IP"
out=$(k get ns); expect_has "$out" "kube-system"; expect_has "$out" "shop"
out=$(k -n shop get cm cfg -o yaml); expect_has "$out" "kind: ConfigMap"; expect_has "$out" "resourceVersion:"
out=$(k -n shop get deploy web -o json); expect_has "$out" '"revisionHistoryLimit": 10'
expect_has "$out" '"maxSurge": "25%"'; expect_has "$out" '"terminationMessagePath": "/dev/termination-log"'
expect_has "$out" '"generation": 1'
out=$(k -n shop get secret creds -o jsonpath='{.data.password}'); expect_eq "$(base64 -d <<<"$out")" "s3cret" "secret"
# stringData is write-only: merged into data (so apply reports it configured every time, as upstream).
echo '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"sd","namespace":"shop"},"stringData":{"x":"y"}}' | k create -f - >/dev/null
out=$(k -n shop get secret sd -o json); expect_has "$out" '"x": "eQ=="'; expect_not "$out" "stringData"
out=$(k get all -n shop); expect_has "$out" "deployment.apps/web"; expect_has "$out" "service/web"
out=$(k -n shop describe deploy web); expect_has "$out" "RollingUpdateStrategy:  25% max unavailable, 25% max surge"
out=$(k -n shop describe cm cfg); expect_has "$out" "Name:         cfg"

# label / annotate / patch (strategic, merge, json).
k -n shop label cm cfg tier=backend >/dev/null
k -n shop annotate cm cfg owner=team-a >/dev/null
out=$(k -n shop get cm -l tier=backend -o name); expect_eq "$out" "configmap/cfg" "label selector"
out=$(k -n shop get cm -l 'tier in (backend,x)' -o name); expect_eq "$out" "configmap/cfg" "set selector"
# notin also selects objects without the label: kube-root-ca.crt, published in every namespace
# by a controller (possibly not yet), is filtered out.
out=$(k -n shop get cm -l 'tier notin (backend)' -o name | { grep -v '^configmap/kube-root-ca.crt$' || true; })
expect_eq "$out" "" "notin selector"
k -n shop patch cm cfg --type merge -p '{"data":{"b":"2"}}' >/dev/null
k -n shop patch cm cfg --type json -p '[{"op":"add","path":"/data/c","value":"3"}]' >/dev/null
out=$(k -n shop get cm cfg -o jsonpath='{.data.a}{.data.b}{.data.c}'); expect_eq "$out" "123" "patched data"
# Strategic merge: containers merge by name, env by name.
k -n shop patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"EXTRA","value":"1"}]}]}}}}' >/dev/null
out=$(k -n shop get deploy web -o jsonpath='{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[*].name} {.metadata.generation}')
expect_eq "$out" "nginx:1.27 MODE EXTRA 2" "strategic merge"

# Server-side apply, conflicts, force.
out=$(k -n shop scale deploy web --replicas=3); expect_has "$out" "deployment.apps/web scaled"
out=$(k -n shop get deploy web -o jsonpath='{.spec.replicas}'); expect_eq "$out" "3" "scale"
out=$(k apply --server-side -f "$T/app.yaml" 2>&1 || true); expect_has "$out" "conflict"
out=$(k apply --server-side --force-conflicts -f "$T/app.yaml"); expect_has "$out" "deployment.apps/web serverside-applied"
out=$(k -n shop get deploy web -o jsonpath='{.spec.replicas}'); expect_eq "$out" "2" "ssa replicas"
out=$(k -n shop get deploy web -o yaml --show-managed-fields); expect_has "$out" "manager: kubectl"
expect_has "$out" "operation: Apply"

# Errors as kubectl prints them.
set +e
out=$(k -n shop get pod nope 2>&1); rc=$?
set -e
expect_eq "$rc" "1" "NotFound exit code"
expect_has "$out" 'Error from server (NotFound): pods "nope" not found'
out=$(k create -f "$T/app.yaml" 2>&1 || true)
expect_has "$out" 'Error from server (AlreadyExists): error when creating'
expect_has "$out" 'deployments.apps "web" already exists'
cat >"$T/bad.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: shop}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: []}
Y
out=$(k apply -f "$T/bad.yaml" 2>&1 || true)
expect_has "$out" 'The Deployment "bad" is invalid:'
expect_has "$out" 'spec.template.spec.containers: Required value'
expect_has "$out" 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`'
out=$(echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name","namespace":"shop"}}' | k create -f - 2>&1 || true)
expect_has "$out" 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'

# Imperative commands (kubectl 1.32 sends these as protobuf).
out=$(k create namespace imp); expect_has "$out" "namespace/imp created"
out=$(k -n imp create configmap c1 --from-literal=k=v); expect_has "$out" "configmap/c1 created"
out=$(k -n imp get cm c1 -o jsonpath='{.data.k}'); expect_eq "$out" "v" "create configmap"
out=$(k -n imp create secret generic s1 --from-literal=k=v); expect_has "$out" "secret/s1 created"
out=$(k -n imp get secret s1 -o jsonpath='{.data.k}'); expect_eq "$out" "dg==" "create secret"
out=$(k -n imp create deployment d1 --image=nginx:1.27 --replicas=2 --port=80); expect_has "$out" "deployment.apps/d1 created"
out=$(k -n imp get deploy d1 -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort} {.spec.selector.matchLabels.app}')
expect_eq "$out" "2 80 d1" "create deployment"
out=$(k -n imp create service nodeport s1 --tcp=80:8080); expect_has "$out" "service/s1 created"
out=$(k -n imp get svc s1 -o jsonpath='{.spec.ports[0].targetPort}'); expect_eq "$out" "8080" "create service"
out=$(k -n imp create job j1 --image=busybox -- echo hi); expect_has "$out" "job.batch/j1 created"
out=$(k -n imp create cronjob cj --image=busybox --schedule='*/5 * * * *' -- date); expect_has "$out" "cronjob.batch/cj created"
out=$(k -n imp create serviceaccount sa1); expect_has "$out" "serviceaccount/sa1 created"
out=$(k -n imp expose deployment d1 --port=8080 --target-port=80 --name=d1-svc); expect_has "$out" "service/d1-svc exposed"

# Delete: the object goes, kubectl waits for it.
out=$(k -n shop delete cm cfg); expect_has "$out" 'configmap "cfg" deleted'
out=$(k -n shop get cm 2>&1); expect_not "$out" "cfg "
out=$(k delete ns shop --wait=true --timeout=30s); expect_has "$out" 'namespace "shop" deleted'
out=$(k get ns); expect_not "$out" "shop"
echo PASS
