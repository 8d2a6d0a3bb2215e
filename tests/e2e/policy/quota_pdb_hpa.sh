#!/usr/bin/env bash
# Issue 22 with real kubectl on a quickstart cluster: a quota of 2 pods refuses the third with
# upstream's message and `kubectl describe quota` shows used/hard; a LimitRange default lands in
# a pod's spec; `kubectl drain` honours a PodDisruptionBudget (one eviction, then it waits and
# retries on 429); a Job with ttlSecondsAfterFinished goes; `kubectl top nodes/pods` print
# metrics; an HPA scales a CPU-burning Deployment up and, once the load stops, back down.
set -euo pipefail
. "${SKIFF_SOURCE_DIR:?}/tests/e2e/quickstart/lib.sh" skiff-qs-policy
jp() { K get "$@" 2>/dev/null; }

echo "== quickstart"
qs_up

echo "== ResourceQuota"
K create namespace q >/dev/null
K create quota q --hard=pods=2,count/configmaps=5 -n q >/dev/null || fail "create quota"
until_ok 30 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC get quota q -n q -o jsonpath='{.status.hard.pods}')\" = 2 ]" \
  || fail "quota status.hard not set: $(jp quota q -n q -o yaml)"
for i in 1 2; do K run "p$i" -n q --image=busybox --image-pull-policy=IfNotPresent --restart=Never -- sleep 600 >/dev/null || fail "p$i refused"; done
out=$(K run p3 -n q --image=busybox --image-pull-policy=IfNotPresent --restart=Never -- sleep 600 2>&1) && fail "p3 admitted over quota"
grep -q 'pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2' <<<"$out" \
  || fail "wrong refusal: $out"
desc=$(K describe quota q -n q)
grep -Eq '^pods +2 +2$' <<<"$desc" || fail "describe quota: $desc"
K delete pod p1 -n q --grace-period=0 --force >/dev/null 2>&1
until_ok 30 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC get quota q -n q -o jsonpath='{.status.used.pods}')\" = 1 ]" \
  || fail "quota not replenished after a delete: $(jp quota q -n q -o jsonpath='{.status}')"
K create quota compute --hard=limits.cpu=1 -n q >/dev/null
until_ok 30 bash -c "[ -n \"\$(ip netns exec $NS kubectl --kubeconfig $KC get quota compute -n q -o jsonpath='{.status.used}')\" ]" || fail "compute quota status"
out=$(K run p4 -n q --image=busybox --restart=Never -- sleep 600 2>&1) && fail "p4 without limits admitted"
grep -q 'failed quota: compute: must specify limits.cpu for: p4' <<<"$out" || fail "constraint message: $out"

# An update is charged too: a Service turned NodePort pays services.nodeports.
K create quota np --hard=services.nodeports=0 -n q >/dev/null
until_ok 30 bash -c "[ -n \"\$(ip netns exec $NS kubectl --kubeconfig $KC get quota np -n q -o jsonpath='{.status.used}')\" ]" || fail "np quota status"
K create service clusterip web --tcp=80 -n q >/dev/null || fail "ClusterIP Service refused under a nodeports quota"
out=$(K patch service web -n q -p '{"spec":{"type":"NodePort"}}' 2>&1) && fail "Service turned NodePort over quota"
grep -q 'services "web" is forbidden: exceeded quota: np, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0' <<<"$out" \
  || fail "update quota message: $out"

echo "== LimitRange"
K create namespace lr >/dev/null
K apply -f - >/dev/null <<'YAML' || fail "create limitrange"
apiVersion: v1
kind: LimitRange
metadata: {name: d, namespace: lr}
spec:
  limits:
  - type: Container
    default: {memory: 128Mi}
    defaultRequest: {memory: 64Mi}
    max: {memory: 256Mi}
YAML
K run lp -n lr --image=busybox --image-pull-policy=IfNotPresent --restart=Never -- sleep 600 >/dev/null || fail "lp refused"
[ "$(jp pod lp -n lr -o jsonpath='{.spec.containers[0].resources.limits.memory}')" = 128Mi ] || fail "no default limit"
[ "$(jp pod lp -n lr -o jsonpath='{.spec.containers[0].resources.requests.memory}')" = 64Mi ] || fail "no default request"
out=$(K run big -n lr --image=busybox --restart=Never --overrides='{"spec":{"containers":[{"name":"big","image":"busybox","resources":{"limits":{"memory":"1Gi"}}}]}}' 2>&1) && fail "over max admitted"
grep -q 'pods "big" is forbidden: maximum memory usage per Container is 256Mi, but limit is 1Gi' <<<"$out" || fail "max message: $out"

echo "== TTL after finished"
K apply -f - >/dev/null <<'YAML' || fail "create job"
apiVersion: batch/v1
kind: Job
metadata: {name: ttl}
spec:
  ttlSecondsAfterFinished: 5
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["true"]}]
YAML
until_ok 60 bash -c "[ -n \"\$(ip netns exec $NS kubectl --kubeconfig $KC get job ttl -o jsonpath='{.status.completionTime}')\" ]" || fail "job did not complete"
t0=$SECONDS
until_ok 30 bash -c "! ip netns exec $NS kubectl --kubeconfig $KC get job ttl" || fail "job still there 30 s after finishing"
echo "   job gone $((SECONDS - t0)) s after completion was seen"

echo "== kubectl top"
until_ok 90 bash -c "ip netns exec $NS kubectl --kubeconfig $KC top nodes | grep -q '%'" || fail "kubectl top nodes: $(K top nodes 2>&1)"
K top nodes
until_ok 60 bash -c "ip netns exec $NS kubectl --kubeconfig $KC top pods -n lr --containers | grep -q lp" || fail "kubectl top pods: $(K top pods -n lr 2>&1)"
K top pods -n lr --containers
# The kubelet's resource metrics, what metrics-server >= 0.6 scrapes, through nodes/proxy.
lpnode=$(K get pod lp -n lr -o jsonpath='{.spec.nodeName}')
res=$(K get --raw "/api/v1/nodes/$lpnode/proxy/metrics/resource") || fail "metrics/resource"
grep -Eq '^node_cpu_usage_seconds_total [0-9.e+]+ [0-9]{13}$' <<<"$res" || fail "node cpu in metrics/resource: $res"
grep -q '^# TYPE container_memory_working_set_bytes gauge$' <<<"$res" || fail "metrics/resource TYPE: $res"
grep -Eq '^container_cpu_usage_seconds_total\{container="lp",namespace="lr",pod="[^"]+"\} [0-9.e+-]+ [0-9]{13}$' <<<"$res" \
  || fail "container cpu in metrics/resource: $res"
grep -q '^resource_scrape_error 0$' <<<"$res" || fail "resource_scrape_error: $res"

echo "== HorizontalPodAutoscaler"
deployment_yaml burn 1 '[sh, -c, "while true; do :; done"]' 'resources: {requests: {cpu: 100m}}' |
  K apply -f - >/dev/null || fail "create burner"
K apply -f - >/dev/null <<'YAML' || fail "create hpa"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burn}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 20}
YAML
# The HPA reads its target's scale and the pods' metrics: AbleToScale becomes True.
until_ok 60 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC get hpa burn -o jsonpath='{.status.conditions[?(@.type==\"AbleToScale\")].status}')\" = True ]" \
  || fail "HPA AbleToScale: $(K describe hpa burn)"
# Scaling up on the burner's CPU, then back down once the load stops.
until_ok 180 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC get deploy burn -o jsonpath='{.spec.replicas}')\" -gt 1 ]" \
  || fail "HPA did not scale up: $(K describe hpa burn)"
K get hpa burn
ev=$(K get events --field-selector involvedObject.name=burn,reason=SuccessfulRescale -o jsonpath='{.items[*].message}')
grep -q 'New size: [23]; reason: cpu resource utilization (percentage of request) above target' <<<"$ev" || fail "no rescale event: $ev"
[ "$(jp hpa burn -o jsonpath='{.status.conditions[?(@.type=="ScalingActive")].reason}')" = ValidMetricFound ] || fail "ScalingActive: $(K describe hpa burn)"
# The full resource name: kubectl 1.32's short-name expansion drops the version, so
# `hpa.v1.autoscaling` would ask for the preferred autoscaling/v2.
[ "$(jp horizontalpodautoscalers.v1.autoscaling burn -o jsonpath='{.spec.targetCPUUtilizationPercentage}')" = 50 ] || fail "autoscaling/v1 view"
echo "   load stops"
K patch deploy burn --type=json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/command","value":["sleep","3600"]}]' >/dev/null
until_ok 240 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC get deploy burn -o jsonpath='{.spec.replicas}')\" = 1 ]" \
  || fail "HPA did not scale back down: $(K describe hpa burn)"
K describe hpa burn | sed -n '/Conditions/,$p'

echo "== kubectl drain with a PodDisruptionBudget"
K create deployment pdbd --image=busybox --replicas=2 -- sleep 3600 >/dev/null
until_ok 90 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC get deploy pdbd -o jsonpath='{.status.readyReplicas}')\" = 2 ]" || fail "pdbd not ready"
K create poddisruptionbudget pdbd --selector=app=pdbd --min-available=1 >/dev/null
until_ok 30 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC get pdb pdbd -o jsonpath='{.status.disruptionsAllowed}')\" = 1 ]" \
  || fail "pdb status: $(jp pdb pdbd -o yaml)"
node=$(K get nodes -o jsonpath='{.items[0].metadata.name}')
out=$(K drain "$node" --ignore-daemonsets --delete-emptydir-data --pod-selector=app=pdbd --timeout=25s 2>&1) && fail "drain finished although the budget forbids it: $out"
K uncordon "$node" >/dev/null
grep -q "Cannot evict pod as it would violate the pod's disruption budget." <<<"$out" || fail "drain did not wait on the budget: $out"
# Evictions the budget allowed: pods drain asked for minus pods it was refused for (the
# allowed pod is still in its 30 s grace period when drain gives up, so no "evicted" line).
asked=$(grep -o '^evicting pod default/pdbd-[a-z0-9-]*' <<<"$out" | sort -u | wc -l)
refused=$(grep -o 'evicting pods/"pdbd-[a-z0-9-]*"' <<<"$out" | sort -u | wc -l)
[ "$asked" = 2 ] && [ "$refused" = 1 ] || fail "drain: $asked pods asked, $refused refused (want 2 and 1): $out"
echo "PASS"
