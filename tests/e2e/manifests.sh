#!/usr/bin/env bash
# The busybox workloads of the e2e tests, printed as YAML to pipe into `kubectl apply -f -`: a
# Pod, Deployment, StatefulSet or DaemonSet NAME whose pods are labelled app=NAME, have a 1 s
# termination grace period and one container `main` of the busybox image that every test node
# and the quickstart preload (imagePullPolicy IfNotPresent: no registry is asked) running COMMAND
# (a YAML flow sequence). Sourced by node_env.sh and quickstart/lib.sh.
#
# Arguments after COMMAND are more lines of the container (`ports: [{containerPort: 8080}]`);
# options between NAME (REPLICAS) and COMMAND add lines elsewhere, in flow style:
#   --spec LINE  to the pod's spec (`restartPolicy: Never`, `volumes: [...]`);
#   --set LINE   to the workload's own spec (`podManagementPolicy: Parallel`).

# _pod_spec INDENT COMMAND [LINE...]: the pod spec at INDENT spaces, with the caller's --spec
# lines (its local array `spec`).
_pod_spec() {
  local p l
  p=$(printf '%*s' "$1" '')
  echo "${p}terminationGracePeriodSeconds: 1"
  for l in "${spec[@]}"; do echo "$p$l"; done
  echo "${p}containers:"
  echo "$p- name: main"
  echo "$p  image: busybox"
  echo "$p  imagePullPolicy: IfNotPresent"
  echo "$p  command: $2"
  shift 2
  for l in "$@"; do echo "$p  $l"; done
}

# _options [--spec LINE | --set LINE]...: moves the options' lines into the caller's arrays
# `spec` and `top`; the caller shifts OPTIONS_SEEN arguments.
_options() {
  OPTIONS_SEEN=0
  while [ "${1:-}" = --spec ] || [ "${1:-}" = --set ]; do
    if [ "$1" = --spec ]; then spec+=("$2"); else top+=("$2"); fi
    shift 2
    OPTIONS_SEEN=$((OPTIONS_SEEN + 2))
  done
}

# _workload KIND NAME COMMAND [LINE...]: a KIND of the apps/v1 group, with the caller's arrays
# `top` (lines of its spec) and `spec` (of the pod's).
_workload() {
  local kind=$1 name=$2 l
  shift 2
  echo "apiVersion: apps/v1"
  echo "kind: $kind"
  echo "metadata: {name: $name}"
  echo "spec:"
  for l in "${top[@]}"; do echo "  $l"; done
  echo "  selector: {matchLabels: {app: $name}}"
  echo "  template:"
  echo "    metadata: {labels: {app: $name}}"
  echo "    spec:"
  _pod_spec 6 "$@"
}

# pod_yaml NAME [--spec LINE]... COMMAND [LINE...]
pod_yaml() {
  local name=$1 spec=() top=()
  shift
  _options "$@"; shift $OPTIONS_SEEN
  echo "apiVersion: v1"
  echo "kind: Pod"
  echo "metadata: {name: $name, labels: {app: $name}}"
  echo "spec:"
  _pod_spec 2 "$@"
}

# deployment_yaml NAME REPLICAS [--spec LINE | --set LINE]... COMMAND [LINE...]
deployment_yaml() {
  local name=$1 spec=() top=("replicas: $2")
  shift 2
  _options "$@"; shift $OPTIONS_SEEN
  _workload Deployment "$name" "$@"
}

# statefulset_yaml NAME REPLICAS [--spec LINE | --set LINE]... COMMAND [LINE...]: with
# serviceName NAME.
statefulset_yaml() {
  local name=$1 spec=() top=("serviceName: $1" "replicas: $2")
  shift 2
  _options "$@"; shift $OPTIONS_SEEN
  _workload StatefulSet "$name" "$@"
}

# daemonset_yaml NAME [--spec LINE | --set LINE]... COMMAND [LINE...]
daemonset_yaml() {
  local name=$1 spec=() top=()
  shift
  _options "$@"; shift $OPTIONS_SEEN
  _workload DaemonSet "$name" "$@"
}
