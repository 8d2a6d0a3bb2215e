#!/usr/bin/env bash
# Cluster DNS on three nodes: the kube-dns Service; from inside pods (busybox nslookup) a
# ClusterIP Service by short and full name, a headless Service of a StatefulSet (each pod's
# name), an SRV record, an ExternalName, a pod A record, kubernetes.default, NXDOMAIN, and an
# outside name answered by a resolver this test runs (dnsmasq on the LAN, the agents'
# --resolv-conf); dnsPolicy None and hostAliases; a raw query from a node's own network; and
# cluster names still answered from every node while skiff-master is stopped.
S=$(cd "$(dirname "$0")" && pwd)
. "$S/../cluster/lib.sh"

# The test's own upstream resolver: dnsmasq on the LAN address, knowing one outside name.
start_lan
printf 'nameserver %s\n' "$MASTER_IP" >"$T/resolv.conf"
dnsmasq --keep-in-foreground --no-resolv --no-hosts --listen-address=$MASTER_IP --bind-interfaces \
  --address=/outside.test/192.0.2.55 --address=/web.default/192.0.2.66 --user=root --pid-file= >"$T/dnsmasq.log" 2>&1 &
start_master
create_bootstrap_token
for n in "${NODES[@]}"; do start_agent "$n" --resolv-conf "$T/resolv.conf"; done
for n in "${NODES[@]}"; do until_ok 90 node_ready "$n" || fail "$n did not become Ready"; done
step "cluster up"

step "kube-system/kube-dns: ClusterIP 10.96.0.10, ports dns/dns-tcp/metrics, k8s-app=kube-dns"
[ "$(k get svc -n kube-system -l k8s-app=kube-dns -o jsonpath='{.items[0].spec.clusterIP}')" = 10.96.0.10 ] ||
  fail "no kube-dns Service at 10.96.0.10"
[ "$(k get svc kube-dns -n kube-system -o jsonpath='{range .spec.ports[*]}{.name}/{.port}/{.protocol} {end}')" = \
  "dns/53/UDP dns-tcp/53/TCP metrics/9153/TCP " ] || fail "kube-dns ports"

web_deployment web 2
k expose deployment web --port 80 --target-port 8080 --name web >/dev/null
cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: outside.test}
Y
statefulset_yaml db 2 '[sleep, "3600"]' | k apply -f - >/dev/null
pod_yaml probe '[sleep, "3600"]' | k apply -f - >/dev/null
pod_yaml custom --spec 'dnsPolicy: None' \
  --spec 'dnsConfig: {nameservers: [10.96.0.10], searches: [default.svc.cluster.local, custom.example], options: [{name: ndots, value: "2"}]}' \
  --spec 'hostAliases: [{ip: 192.0.2.77, hostnames: [alias.one, alias.two]}]' '[sleep, "3600"]' | k apply -f - >/dev/null
pod_running() { [ "$(k get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }
for p in probe custom db-0 db-1; do until_ok 150 pod_running "$p" || fail "pod $p not Running"; done
until_ok 120 want_running app=web 2 || fail "web not Running"
WEB=$(k get svc web -o jsonpath='{.spec.clusterIP}')
look() { k exec probe -- nslookup "$@" 2>&1; }
# busybox nslookup tries every search domain and exits 1 when any of them is NXDOMAIN (it does so
# against CoreDNS too): judge by the answer it printed, not by its exit code.
has() { local want=$1 out; shift; out=$(look "$@" || true); grep -q -- "$want" <<<"$out"; }

step "resolv.conf and /etc/hosts as the kubelet writes them"
rc=$(k exec probe -- cat /etc/resolv.conf)
[ "$rc" = "$(printf 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5')" ] ||
  fail "probe resolv.conf: $rc"
rc=$(k exec custom -- cat /etc/resolv.conf)
[ "$rc" = "$(printf 'search default.svc.cluster.local custom.example\nnameserver 10.96.0.10\noptions ndots:2')" ] ||
  fail "dnsPolicy None resolv.conf: $rc"
k exec custom -- cat /etc/hosts | grep -q "^192.0.2.77	alias.one	alias.two$" || fail "no hostAliases line"

step "names from inside a pod"
until_ok 20 has "Address:.*$WEB" web || fail "short name web: $(look web)"
has "Address:.*$WEB" web.default.svc.cluster.local || fail "web FQDN"
has "Address:.*10.96.0.1$" kubernetes.default.svc.cluster.local ||
  fail "kubernetes.default FQDN: $(look kubernetes.default.svc.cluster.local)"
# busybox 1.35's nslookup applies the search list only to names without a dot, so it asks for
# `kubernetes.default.` as is; the upstream (the test's dnsmasq) says NXDOMAIN and the node's
# server answers with a CNAME to the Service's FQDN and its address. An outside name of the same
# shape that the upstream does know is not shadowed.
has "Address:.*10.96.0.1$" kubernetes.default || fail "kubernetes.default: $(look kubernetes.default)"
has "canonical name = kubernetes.default.svc.cluster.local" kubernetes.default ||
  fail "kubernetes.default CNAME: $(look kubernetes.default)"
for i in 0 1; do
  ip=$(k get pod db-$i -o jsonpath='{.status.podIP}')
  until_ok 20 has "Address:.*$ip" db-$i.db.default.svc.cluster.local || fail "db-$i.db: $(look db-$i.db.default.svc.cluster.local)"
done
until_ok 20 bash -c "[ \$(kubectl exec probe -- nslookup db.default.svc.cluster.local | grep -c 'Address:.*10\.244\.') -eq 2 ]" ||
  fail "headless db: $(look db.default.svc.cluster.local)"
has "db-0.db.default.svc.cluster.local" -type=SRV _pg._tcp.db.default.svc.cluster.local || fail "SRV: $(look -type=SRV _pg._tcp.db.default.svc.cluster.local)"
has "outside.test" -type=CNAME ext.default.svc.cluster.local || fail "ExternalName: $(look -type=CNAME ext.default.svc.cluster.local)"
pip=$(k get pod probe -o jsonpath='{.status.podIP}')
has "Address:.*$pip" "${pip//./-}.default.pod.cluster.local" || fail "pod A record"
has NXDOMAIN nosuch.default.svc.cluster.local || fail "no NXDOMAIN"
# `web.default` exists upstream (dnsmasq) and as a Service: the upstream's answer wins.
out=$(look web.default || true)
grep -q "Address:.*192.0.2.66" <<<"$out" && ! grep -q "Address:.*$WEB" <<<"$out" ||
  fail "web.default upstream answer shadowed: $out"
has "Address:.*192.0.2.55" outside.test || fail "outside name: $(look outside.test)"

step "raw query from a node's own network (TCP) and /metrics through the Service"
for n in "${NODES[@]}"; do
  on "$n" python3 "$S/raw_query.py" 10.96.0.10 web.default.svc.cluster.local "$WEB" ||
    fail "raw query from $n"
done
on node-a curl -s -m 3 http://10.96.0.10:9153/metrics | grep -q '^coredns_dns_requests_total' ||
  fail "no coredns metrics through the kube-dns Service"

step "skiff-master stopped: every node still answers cluster names"
kill "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null; MASTER_PID=""
for n in "${NODES[@]}"; do
  on "$n" busybox nslookup web.default.svc.cluster.local 10.96.0.10 | grep -q "Address:.*$WEB" ||
    fail "$n does not answer with the master down"
done
echo PASS
