#!/usr/bin/env bash
# The scheduler and the controllers depend on the shared informer/ and nodeinfo/ libraries, not
# on each other: fails when scheduler code includes a controllers header, when controller code
# includes the scheduler's (only the ControllerManager, which runs the scheduler in process, may
# use its public API), or when the shared libraries include either.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
bad=$(
  grep -rnE '#include "(skiff/master/controllers/|\.\./controllers/)' src/scheduler include/skiff/master/scheduler
  grep -rnE '#include "(skiff/master/scheduler/scheduler\.h|\.\./scheduler/)' src/controllers include/skiff/master/controllers |
    grep -v '^src/controllers/controller_manager\.cc:'
  grep -rnE '#include "(skiff/master/controllers/|skiff/master/scheduler/scheduler\.h|\.\./)' src/informer include/skiff/master/informer src/nodeinfo include/skiff/master/nodeinfo
)
if [[ -n "$bad" ]]; then
  echo "forbidden includes between scheduler, controllers and their shared libraries:"
  echo "$bad"
  exit 1
fi
echo "ok: scheduler and controllers include none of each other's headers"
