#!/usr/bin/env bash
# Two skiff-masters on one etcd: both serve reads and writes, exactly one runs the scheduler and
# the controllers (Leases kube-system/kube-scheduler and kube-controller-manager); kill -9 the
# leader and the other takes both leases over (the time is printed) and its controllers act.
. "$(dirname "$0")/lib.sh"
etcd_cluster e1
holder() { k "$1" get lease "$2" -n kube-system -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }

master_start m1
# The second master shares the cluster's PKI and service-account key (a copy of m1's pki/).
mkdir -p "$T/m2" && cp -a "$T/m1/pki" "$T/m2/pki"
master_start m2

# Both serve the same objects.
k m1 create configmap from-m1 --from-literal=k=v >/dev/null
k m2 get configmap from-m1 >/dev/null || fail "m2 does not see m1's write"
k m2 create configmap from-m2 --from-literal=k=v >/dev/null
k m1 get configmap from-m2 >/dev/null || fail "m1 does not see m2's write"
[ "$(ETCDCTL_API=3 etcdctl --endpoints "$SERVERS" get --keys-only --prefix /registry/configmaps/default/ | grep -c from-)" = 2 ] ||
  fail "configmaps are not under /registry/configmaps/default/ in etcd"

# One leader per lease, and it is one of the two masters.
for _ in $(seq 1 50); do [ -n "$(holder m1 kube-scheduler)" ] && [ -n "$(holder m1 kube-controller-manager)" ] && break; sleep 0.2; done
S=$(holder m1 kube-scheduler); C=$(holder m1 kube-controller-manager)
[ -n "$S" ] && [ -n "$C" ] || fail "no lease holders (scheduler '$S', controller-manager '$C')"
leader=
for m in m1 m2; do grep -q "Successfully acquired lease.*kube-controller-manager" "$T/$m.log" && leader="$leader $m"; done
leader=${leader# }
[ "$leader" = m1 ] || [ "$leader" = m2 ] || fail "want exactly one controller-manager leader, got '$leader'"
other=m2; [ "$leader" = m2 ] && other=m1
echo "leader=$leader holder=$C"

# The leader's controllers work: a Deployment gets its ReplicaSet.
k "$other" create deployment before --image=busybox >/dev/null
for _ in $(seq 1 50); do [ -n "$(k "$other" get rs -l app=before -o name 2>/dev/null)" ] && break; sleep 0.2; done
[ -n "$(k "$other" get rs -l app=before -o name)" ] || fail "no ReplicaSet before the kill"

# kill -9 the leader: the other master takes both leases within lease duration + retry.
t0=$(date +%s.%N)
kill9 "$leader"
k "$other" create deployment during --image=busybox >/dev/null
took=
for _ in $(seq 1 150); do
  h=$(holder "$other" kube-controller-manager)
  if [ -n "$h" ] && [ "$h" != "$C" ] && [ "$(holder "$other" kube-scheduler)" != "$S" ]; then
    took=$(python3 -c "import time;print(f'{time.time()-$t0:.1f}')"); break
  fi
  sleep 0.2
done
[ -n "$took" ] || fail "no takeover within 30 s"
echo "takeover after kill -9: ${took}s"
python3 -c "import sys; sys.exit(0 if $took <= 20 else 1)" || fail "takeover took ${took}s (> 20 s)"
grep -q "Successfully acquired lease.*kube-controller-manager" "$T/$other.log" || fail "$other did not log the acquisition"
# The new leader's controllers act on what was created during the outage.
for _ in $(seq 1 75); do [ -n "$(k "$other" get rs -l app=during -o name 2>/dev/null)" ] && break; sleep 0.2; done
[ -n "$(k "$other" get rs -l app=during -o name)" ] || fail "no ReplicaSet for the Deployment created during the takeover"
k "$other" get lease -n kube-system
echo PASS
