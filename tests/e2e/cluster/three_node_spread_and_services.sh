#!/usr/bin/env bash
# Three nodes on a simulated LAN: each Ready with its own podCIDR from 10.244.0.0/16; a
# 6-replica Deployment spreads over all of them; pods reach pods on the other nodes (host-gw
# routes); a ClusterIP Service reaches backends on every node; a NodePort answers on each node's
# address. Every node starts as a host with Docker and firewalld does: their nftables tables are
# there before the agent, whose proxy (mode auto) must choose nftables, leave those tables as they
# were and write nothing to legacy iptables.
FOREIGN_NFT_RULESET=$(cd "$(dirname "$0")/../../data/netproxy" && pwd)/docker-firewalld.nft
export FOREIGN_NFT_RULESET
. "$(dirname "$0")/lib.sh"
start_cluster

step "kubectl get nodes: Ready, InternalIP on the LAN, distinct podCIDRs in 10.244.0.0/16"
k get nodes -o wide
declare -A CIDR=()
for n in "${NODES[@]}"; do
  [ "$(node_status_column "$n")" = Ready ] || fail "$n STATUS is '$(node_status_column "$n")', want Ready"
  ip=$(k get node "$n" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
  [ "$ip" = "${NODE_IP[$n]}" ] || fail "$n InternalIP '$ip', want ${NODE_IP[$n]}"
  c=$(k get node "$n" -o jsonpath='{.spec.podCIDR}')
  [[ "$c" =~ ^10\.244\.([0-9]+)\.0/24$ ]] || fail "$n podCIDR '$c' is not a /24 of 10.244.0.0/16"
  [ "$(k get node "$n" -o jsonpath='{.spec.podCIDRs[0]}')" = "$c" ] || fail "$n podCIDRs[0] != podCIDR"
  CIDR[$n]=$c
done
[ "$(printf '%s\n' "${CIDR[@]}" | sort -u | wc -l)" = 3 ] || fail "podCIDRs not distinct: ${CIDR[*]}"

step "the nodes route each other's podCIDR through their InternalIP"
for n in "${NODES[@]}"; do
  for m in "${NODES[@]}"; do
    [ "$n" = "$m" ] && continue
    until_ok 20 bash -c "nsenter --net=/proc/${NS_PID[$n]}/ns/net ip route show ${CIDR[$m]} | grep -q 'via ${NODE_IP[$m]}'" ||
      fail "$n has no route to ${CIDR[$m]} via ${NODE_IP[$m]}: $(on "$n" ip route)"
  done
done

step "6-replica Deployment spreads over the three nodes"
web_deployment web 6
until_ok 150 want_running app=web 6 || fail "6 web replicas not Running"
s=$(spread app=web)
[ "$s" = "node-a node-b node-c" ] || fail "replicas spread over '$s', want all three nodes"
k get pods -l app=web -o wide
# One pod per node: name and IP, and the pod IP inside the node's podCIDR.
declare -A POD=() PODIP=()
while read -r name node ip phase; do
  [ "$phase" = Running ] && [ -z "${POD[$node]:-}" ] || continue
  POD[$node]=$name; PODIP[$node]=$ip
  prefix=${CIDR[$node]%.0/24}
  [[ "$ip" == "$prefix".* ]] || fail "pod $name on $node has IP $ip outside ${CIDR[$node]}"
done < <(k get pods -l app=web \
  -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP} {.status.phase}{"\n"}{end}')

step "pod-to-pod across nodes"
for n in "${NODES[@]}"; do
  for m in "${NODES[@]}"; do
    [ "$n" = "$m" ] && continue
    got=$(k exec "${POD[$n]}" -- timeout 3 wget -qO- "http://${PODIP[$m]}:8080/") ||
      fail "${POD[$n]} ($n) cannot reach ${POD[$m]} ($m) at ${PODIP[$m]}"
    [ "$got" = "${POD[$m]}" ] || fail "${PODIP[$m]} answered '$got', want '${POD[$m]}'"
  done
done

step "ClusterIP Service reaches backends on all nodes"
cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
Y
CIP=$(k get svc web -o jsonpath='{.spec.clusterIP}')
NP=$(k get svc web -o jsonpath='{.spec.ports[0].nodePort}')
[ -n "$CIP" ] && [ -n "$NP" ] || fail "Service has no clusterIP/nodePort"
six_endpoints() {
  [ "$(kubectl get endpoints web -o jsonpath='{.subsets[*].addresses[*].ip}' | wc -w)" = 6 ]
}
until_ok 30 six_endpoints || fail "Service web does not have 6 endpoints"
# Every node's proxy must have programmed the Service before the first request; retry the
# first one, then ask 40 times from a pod on node-a and map the answers to nodes.
until_ok 30 kubectl exec "${POD[node-a]}" -- timeout 3 wget -qO- "http://$CIP/" || fail "ClusterIP $CIP unreachable from node-a"
answers=$(k exec "${POD[node-a]}" -- sh -c "for i in \$(seq 40); do timeout 3 wget -qO- http://$CIP/; done")
nodes_hit=$(for p in $(echo "$answers" | sort -u); do k get pod "$p" -o jsonpath='{.spec.nodeName}{"\n"}'; done | sort -u | xargs)
[ "$(echo "$answers" | wc -l)" = 40 ] || fail "only $(echo "$answers" | wc -l)/40 requests to $CIP answered"
[ "$nodes_hit" = "node-a node-b node-c" ] || fail "ClusterIP answers came from '$nodes_hit', want all three nodes"
echo "ClusterIP $CIP: 40/40 answered by $(echo "$answers" | sort -u | wc -l) pods on $nodes_hit"

step "NodePort $NP answers on each node's address (from the LAN)"
for n in "${NODES[@]}"; do
  until_ok 20 curl -fsS -m 3 "http://${NODE_IP[$n]}:$NP/" || fail "NodePort $NP does not answer on ${NODE_IP[$n]} ($n)"
  got=$(curl -fsS -m 3 "http://${NODE_IP[$n]}:$NP/")
  web_pods=$(k get pods -l app=web -o name)  # (no grep -q on a live pipe: pipefail + SIGPIPE)
  grep -qx "pod/$got" <<<"$web_pods" || fail "NodePort on $n answered '$got', not a web pod"
done
step "proxy mode auto chose nftables beside the foreign tables, which are untouched"
for n in "${NODES[@]}"; do
  grep -q 'Using proxy mode.*mode="\?nftables' "$T/$n.log" ||
    fail "$n's agent did not choose nftables: $(grep 'Using proxy mode' "$T/$n.log")"
  on "$n" nft list table ip skiff >/dev/null || fail "$n has no table ip skiff"
  [ "$(foreign_tables "$n")" = "$(cat "$T/$n.foreign-tables")" ] ||
    fail "$n's Docker/firewalld tables changed: $(diff <(foreign_tables "$n") "$T/$n.foreign-tables")"
  legacy=$(on "$n" iptables-legacy-save 2>/dev/null | grep -c 'KUBE-\|SKIFF' || true)
  [ "$legacy" = 0 ] || fail "$n has $legacy legacy iptables lines of skiff's"
done
echo PASS
