#!/usr/bin/env bash
# Regenerates definitions.json, the OpenAPI definitions of the built-in kinds, from the Go sources
# of the Kubernetes API modules at the release skiff follows (see gen/main.go). Needs Go (Debian's
# golang-go) and the module sources, e.g. `git archive v0.32.13` of each repository:
#   master-lite/src/openapi/regenerate.sh /tmp/k8ssrc
# where /tmp/k8ssrc holds api/, apimachinery/, apiextensions-apiserver/, kube-aggregator/, metrics/.
# Sources of the checked-in file: the v0.32.13 tags of those five repositories.
set -euo pipefail
src=${1:?usage: regenerate.sh DIR-WITH-MODULE-SOURCES}
here=$(cd "$(dirname "$0")" && pwd)
api=k8s.io/api
args=(
  -src "$api=$src/api" -src "k8s.io/apimachinery=$src/apimachinery"
  -src "k8s.io/apiextensions-apiserver=$src/apiextensions-apiserver"
  -src "k8s.io/kube-aggregator=$src/kube-aggregator" -src "k8s.io/metrics=$src/metrics"
)
# The group-versions skiff-master serves (master-lite/src/api/resources.cc).
for gv in core/v1 apps/v1 apps/v1beta1 extensions/v1beta1 events/v1 batch/v1 certificates/v1 \
  coordination/v1 discovery/v1 policy/v1 scheduling/v1 authentication/v1 authorization/v1 \
  rbac/v1 autoscaling/v1 autoscaling/v2 storage/v1 networking/v1 node/v1 \
  admissionregistration/v1; do
  args+=(-pkg "$api/$gv")
done
args+=(
  -pkg k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1
  -pkg k8s.io/kube-aggregator/pkg/apis/apiregistration/v1
  -pkg k8s.io/metrics/pkg/apis/metrics/v1beta1
)
# What every group-version's operations take or return besides its kinds.
for t in DeleteOptions Status WatchEvent Patch APIResourceList; do
  args+=(-type "k8s.io/apimachinery/pkg/apis/meta/v1.$t")
done
cd "$here/gen" && go run main.go "${args[@]}" > "$here/definitions.json.new"
mv "$here/definitions.json.new" "$here/definitions.json"
echo "wrote $here/definitions.json ($(wc -c < "$here/definitions.json") bytes)"
