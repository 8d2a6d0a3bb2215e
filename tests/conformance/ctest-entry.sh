#!/usr/bin/env bash
# ctest's conformance.v1_20: the README's three steps in order (each a no-op when its cached
# products are current); on a shared machine wrap
# the ctest call in `flock /tmp/skiff-e2e.lock` so no other cluster test overlaps the run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
"$HERE/build.sh" --deps
"$HERE/images/build-images.sh"
exec "$HERE/run.sh"
