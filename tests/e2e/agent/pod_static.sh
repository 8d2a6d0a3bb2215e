#!/usr/bin/env bash
# A static pod from --pod-manifest-path runs and shows up in the API as a mirror pod.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/manifests"
busybox_pod static-web '["sleep", "3600"]' >"$T/manifests/static-web.yaml"
start_cluster
mirror_running() { [ "$(kubectl get pod static-web-node-1 -o jsonpath='{.status.phase}')" = Running ]; }
until_ok 60 mirror_running || { k get pods -o wide; fail "mirror pod static-web-node-1 not Running"; }
k get pod static-web-node-1 -o jsonpath='{.metadata.annotations}' | grep -q 'kubernetes.io/config.mirror' ||
  fail "no kubernetes.io/config.mirror annotation"
echo PASS
