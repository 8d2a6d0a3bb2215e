#!/usr/bin/env bash
# The official Python client (python3-kubernetes 22.x) against skiff-master: list, create, patch,
# delete, watch with timeout_seconds, ApiException 404, and a Deployment round trip.
. "$(dirname "$0")/lib.sh"
$PY -c 'import kubernetes' 2>/dev/null || { echo "SKIP: python3-kubernetes not installed"; exit 0; }
start_master
$PY - <<'PYEOF'
import threading, time
from kubernetes import client, config, watch
config.load_kube_config()
v1 = client.CoreV1Api()
apps = client.AppsV1Api()

names = [n.metadata.name for n in v1.list_namespace().items]
assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(names), names

cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py", labels={"app": "py"}), data={"a": "1"})
created = v1.create_namespaced_config_map("default", cm)
assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
patched = v1.patch_namespaced_config_map("py", "default", {"data": {"b": "2"}})
assert patched.data == {"a": "1", "b": "2"}, patched.data
assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)
# A list body is a JSON patch.
jp = v1.patch_namespaced_config_map("py", "default", [{"op": "replace", "path": "/data/a", "value": "9"}])
assert jp.data["a"] == "9"
assert [c.metadata.name for c in v1.list_namespaced_config_map("default", label_selector="app=py").items] == ["py"]

# Watch with timeout_seconds: initial ADDED, then a MODIFIED made while watching.
def modify():
    time.sleep(0.5)
    v1.patch_namespaced_config_map("py", "default", {"data": {"c": "3"}})
threading.Thread(target=modify).start()
seen = []
start = time.time()
for ev in watch.Watch().stream(v1.list_namespaced_config_map, "default", label_selector="app=py", timeout_seconds=2):
    seen.append(ev["type"])
assert seen[:2] == ["ADDED", "MODIFIED"], seen
assert time.time() - start < 10

dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="py-web"),
    spec=client.V1DeploymentSpec(
        replicas=2,
        selector=client.V1LabelSelector(match_labels={"app": "py-web"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "py-web"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36")]))))
d = apps.create_namespaced_deployment("default", dep)
assert d.spec.strategy.type == "RollingUpdate" and d.spec.progress_deadline_seconds == 600
assert d.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
d = apps.patch_namespaced_deployment("py-web", "default", {"spec": {"replicas": 4}})
assert d.spec.replicas == 4
s = apps.read_namespaced_deployment_scale("py-web", "default")
assert s.spec.replicas == 4 and s.status.selector == "app=py-web", s

v1.delete_namespaced_config_map("py", "default")
try:
    v1.read_namespaced_config_map("py", "default")
    raise SystemExit("expected 404")
except client.exceptions.ApiException as e:
    assert e.status == 404, e.status
    assert '"reason":"NotFound"' in e.body, e.body
try:
    v1.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="UPPER")))
    raise SystemExit("expected 422")
except client.exceptions.ApiException as e:
    assert e.status == 422, e.status
apps.delete_namespaced_deployment("py-web", "default")
print("python flows ok")
PYEOF
echo PASS
