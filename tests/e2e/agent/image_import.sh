#!/usr/bin/env bash
# Images added while the agent runs are used at once, without a restart: one imported with
# `skiff-agent ctr import` into the agent's runtime root, one dropped into the air-gap directory
# (<root-dir>/images) as .tar.gz and one as .tar.zst. A corrupt archive there is reported once
# and changes nothing; imagePullPolicy Never with a missing image is ErrImageNeverPull with the
# kubelet's message and event; node status lists the images.
. "$(dirname "$0")/lib.sh"
step "start"
start_cluster
IMPORT_DIR=$T/agent/images
[ -d "$IMPORT_DIR" ] || fail "the agent did not create $IMPORT_DIR"

# retag NAME OUT: the bundled busybox OCI archive under another name
retag() {
  rm -rf "$T/l" && mkdir -p "$T/l" && tar -xf "$IMAGE" -C "$T/l"
  sed -i "s#docker.io/library/busybox:latest#$1#; s#\"org.opencontainers.image.ref.name\":\"[^\"]*\"#\"org.opencontainers.image.ref.name\":\"${1##*:}\"#" "$T/l/index.json"
  tar -C "$T/l" -cf "$2" .
}
run_pod() {  # run_pod NAME IMAGE [POLICY]
  k run "$1" --image="$2" --image-pull-policy="${3:-IfNotPresent}" --restart=Never -- sleep 600 >/dev/null
}
store_state() {  # names and blobs of the store, to compare before/after
  python3 -c 'import json,sys; print(sorted((i["id"], sorted(i["names"])) for i in json.load(open(sys.argv[1]))))' \
    "$T/runtime/images/images.json"
  ls "$T/runtime/images/blobs/sha256" "$T/runtime/images/layers/sha256"
}

step "ctr import while the agent runs"
retag example.com/skiff/probe:1 "$T/probe1.tar"
"$AGENT" ctr --state-dir "$T/runtime" import "$T/probe1.tar" >/dev/null || fail "ctr import"
"$AGENT" ctr --state-dir "$T/runtime" images | grep -q "^example.com/skiff/probe  *1 " ||
  fail "ctr images does not list probe:1: $("$AGENT" ctr --state-dir "$T/runtime" images)"
t0=$SECONDS
run_pod probe1 example.com/skiff/probe:1
until_ok 30 pod_running probe1 || fail "probe1 (ctr-imported image) not Running: $(k get pod probe1 -o jsonpath='{.status.containerStatuses[0].state}')"
echo "probe1 Running after $((SECONDS - t0)) s"

step "air-gap directory: .tar.gz and .tar.zst"
retag example.com/skiff/probe:2 "$T/probe2.tar" && gzip -f "$T/probe2.tar"
retag example.com/skiff/probe:3 "$T/probe3.tar" && zstd -q -f --rm "$T/probe3.tar"
cp "$T/probe2.tar.gz" "$IMPORT_DIR/"
mv "$T/probe3.tar.zst" "$IMPORT_DIR/"
t0=$SECONDS
run_pod probe2 example.com/skiff/probe:2
run_pod probe3 example.com/skiff/probe:3
until_ok 30 pod_running probe2 || fail "probe2 (air-gap .tar.gz) not Running"
until_ok 30 pod_running probe3 || fail "probe3 (air-gap .tar.zst) not Running"
echo "probe2, probe3 Running after $((SECONDS - t0)) s"
for n in 2 3; do
  c=$(grep -c "Imported image from the image import directory.*example.com/skiff/probe:$n" "$T/agent.log")
  [ "$c" = 1 ] || fail "probe:$n import logged $c times, want 1"
done

step "a corrupt archive is reported and changes nothing"
before=$(store_state)
head -c 20000 "$IMAGE" >"$T/broken.tar"
cp "$T/broken.tar" "$IMPORT_DIR/broken.tar"
until_ok 10 grep -q "not importable.*broken.tar" "$T/agent.log" || fail "no error logged for broken.tar"
sleep 1
[ "$(grep -c "not importable.*broken.tar" "$T/agent.log")" = 1 ] || fail "broken.tar reported more than once"
[ "$(store_state)" = "$before" ] || fail "the corrupt archive changed the store"
[ -z "$(ls -A "$T/runtime/images/tmp")" ] || fail "staging left behind: $(ls "$T/runtime/images/tmp")"

step "Never with a missing image"
run_pod never1 example.com/skiff/missing:1 Never
never_reason() { [ "$(kubectl get pod never1 -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')" = ErrImageNeverPull ]; }
until_ok 30 never_reason || fail "never1 is not ErrImageNeverPull"
msg=$(k get pod never1 -o jsonpath='{.status.containerStatuses[0].state.waiting.message}')
[ "$msg" = 'Container image "example.com/skiff/missing:1" is not present with pull policy of Never' ] ||
  fail "message: $msg"
never_event() {
  kubectl get events -o jsonpath='{range .items[*]}{.involvedObject.name} {.type} {.reason}{"\n"}{end}' |
    grep -qx "never1 Warning ErrImageNeverPull"
}
until_ok 20 never_event || fail "no ErrImageNeverPull event"
[ "$(pod_phase never1)" = Pending ] || fail "never1 phase $(pod_phase never1)"

step "ctr rmi is seen at the next pod start"
"$AGENT" ctr --state-dir "$T/runtime" rmi example.com/skiff/probe:1 >/dev/null || fail "ctr rmi"
run_pod gone1 example.com/skiff/probe:1 Never
gone_reason() { [ "$(kubectl get pod gone1 -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')" = ErrImageNeverPull ]; }
until_ok 30 gone_reason || fail "a removed image still starts pods"

step "node status lists the images"
has_probe() { kubectl get node node-1 -o jsonpath='{.status.images[*].names}' | grep -q "example.com/skiff/probe:3"; }
until_ok 30 has_probe || fail "node status images lack probe:3: $(k get node node-1 -o jsonpath='{.status.images}')"
k get node node-1 -o json | python3 -c '
import json,sys
imgs = json.load(sys.stdin)["status"]["images"]
sizes = [i["sizeBytes"] for i in imgs]
assert sizes == sorted(sizes, reverse=True), sizes
assert len(imgs) <= 50
assert any(n.startswith("docker.io/library/busybox@sha256:") for i in imgs for n in i["names"]), imgs
' || fail "node status images malformed"
echo PASS
