#!/usr/bin/env bash
# apps/v1beta1 and extensions/v1beta1 Deployments (the seed example): accepted, stored as
# apps/v1 with the selector defaulted from the template labels, with a deprecation warning.
. "$(dirname "$0")/lib.sh"
start_master
cat >"$T/seed.yaml" <<'Y'
apiVersion: apps/v1beta1
kind: Deployment
metadata: {name: spark-executor}
spec:
  replicas: 10
  template:
    metadata: {labels: {app: spark-executor}}
    spec:
      containers:
      - name: spark-executor
        image: registry.io:5000/leap/spark:latest
        imagePullPolicy: Always
        resources:
          requests: {memory: "2G", cpu: "5"}
          limits:   {memory: "2G", cpu: "5"}
        ports: [{containerPort: 8081, name: port-1}]
        env: [{name: DEBUG, value: "__DEBUG"}]
Y
out=$(k apply -f "$T/seed.yaml" 2>&1)
expect_has "$out" "deployment.apps/spark-executor created"
expect_has "$out" "Warning: apps/v1beta1 Deployment is deprecated"
expect_has "$out" "use apps/v1 Deployment"
out=$(k get deploy spark-executor -o jsonpath='{.apiVersion} {.spec.selector.matchLabels.app} {.spec.replicas}')
expect_eq "$out" "apps/v1 spark-executor 10" "stored as apps/v1"
out=$(k get --raw /apis/apps/v1beta1/namespaces/default/deployments/spark-executor)
expect_has "$out" '"apiVersion":"apps/v1beta1"'
out=$(k apply -f "$T/seed.yaml" 2>&1); expect_has "$out" "deployment.apps/spark-executor unchanged"
out=$(k get deploy); expect_has "$out" "spark-executor   0/10"
sed 's#apps/v1beta1#extensions/v1beta1#; s/metadata: {name: spark-executor}/metadata: {name: spark-ext}/' "$T/seed.yaml" >"$T/ext.yaml"
out=$(k apply -f "$T/ext.yaml" 2>&1); expect_has "$out" "spark-ext created"
out=$(k get deploy spark-ext -o jsonpath='{.spec.selector.matchLabels.app}'); expect_eq "$out" "spark-executor" "extensions selector"
# apps/v1 still requires the selector, as Kubernetes does.
sed 's#apps/v1beta1#apps/v1#; s/name: spark-executor}/name: v1-nosel}/' "$T/seed.yaml" >"$T/v1.yaml"
out=$(k apply -f "$T/v1.yaml" 2>&1 || true); expect_has "$out" 'spec.selector: Required value'
echo PASS
