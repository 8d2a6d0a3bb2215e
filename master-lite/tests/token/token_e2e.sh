#!/usr/bin/env bash
# `skiff-master token create|list|delete` against a real master on loopback (no root needed):
# the printed join command names the advertise address, the token and the CA hash openssl
# computes; the token authenticates as system:bootstrap:<id> (may create CSRs, nothing more);
# list shows it; an expired token and a deleted one are rejected with 401.
set -euo pipefail
B=${SKIFF_BINARY_DIR:?}
MASTER=$B/master-lite/skiff-master
[ -x "$MASTER" ] || { echo "FAIL: no skiff-master at $MASTER"; exit 1; }
T=$(mktemp -d /tmp/skiff-e2e-token.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/master.log" 2>/dev/null; exit 1; }

KC=$T/admin.kubeconfig
"$MASTER" --data-dir "$T/data" --kubeconfig-out "$KC" --secure-port 0 --bind-address 127.0.0.1 \
  --advertise-address 127.0.0.1 >"$T/master.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do [ -s "$KC" ] && break; sleep 0.1; done
[ -s "$KC" ] || fail "master wrote no kubeconfig"
SERVER=$(kubectl --kubeconfig "$KC" config view -o jsonpath='{.clusters[0].cluster.server}')
PORT=${SERVER##*:}
tok() { "$MASTER" token --kubeconfig "$KC" "$@"; }
# status CODE of GET $1 with bearer $2
status() { curl -s -o /dev/null -w '%{http_code}' --cacert "$T/data/pki/ca.crt" -H "Authorization: Bearer $2" "$SERVER$1"; }

echo "== token create prints the join command"
line=$(tok create --description "e2e worker")
echo "$line"
want_hash=$(openssl x509 -in "$T/data/pki/ca.crt" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
[[ "$line" =~ ^skiff-agent\ --server\ https://127\.0\.0\.1:$PORT\ --token\ ([a-z0-9]{6})\.([a-z0-9]{16})\ --ca-cert-hash\ sha256:$want_hash$ ]] \
  || fail "unexpected join command: $line (want hash $want_hash)"
ID=${BASH_REMATCH[1]}; TOKEN=$ID.${BASH_REMATCH[2]}

echo "== the Secret is a kubeadm bootstrap token with a 24h expiration"
k() { kubectl --kubeconfig "$KC" "$@"; }
[ "$(k -n kube-system get secret "bootstrap-token-$ID" -o jsonpath='{.type}')" = bootstrap.kubernetes.io/token ] || fail "secret type"
exp=$(k -n kube-system get secret "bootstrap-token-$ID" -o jsonpath='{.data.expiration}' | base64 -d)
left=$(( $(date -d "$exp" +%s) - $(date +%s) ))
[ "$left" -gt $((23*3600)) ] && [ "$left" -le $((24*3600)) ] || fail "expiration $exp is not ~24h away"
for u in authentication signing; do
  [ "$(k -n kube-system get secret "bootstrap-token-$ID" -o jsonpath="{.data.usage-bootstrap-$u}" | base64 -d)" = true ] || fail "usage $u"
done

echo "== the token authenticates (CSRs allowed, secrets forbidden)"
[ "$(status /apis/certificates.k8s.io/v1/certificatesigningrequests "$TOKEN")" = 200 ] || fail "valid token not accepted"
[ "$(status /api/v1/namespaces/kube-system/secrets "$TOKEN")" = 403 ] || fail "bootstrap token may read secrets"
[ "$(status /apis/certificates.k8s.io/v1/certificatesigningrequests "$ID.0000000000000000")" = 401 ] || fail "wrong secret accepted"

echo "== token list"
tok list | tee "$T/list"
grep -q "^$TOKEN  *2[34]h  *.*authentication,signing  *e2e worker  *system:bootstrappers:skiff:default-node-token" "$T/list" || fail "token missing from list"

echo "== an expired token is rejected"
short=$(tok create --ttl 1s --token-only)
[[ "$short" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fail "--token-only printed '$short'"
sleep 2.2
[ "$(status /apis/certificates.k8s.io/v1/certificatesigningrequests "$short")" = 401 ] || fail "expired token accepted"
tok list | grep -q "^$short .*<invalid>" || fail "expired token not shown as <invalid>"

echo "== a given token, a duplicate, bad input"
tok create abcdef.0123456789abcdef --ttl 0 --token-only | grep -qx abcdef.0123456789abcdef || fail "given token"
tok list | grep -q "^abcdef.0123456789abcdef .*<forever> .*<never>" || fail "ttl 0 not forever"
if tok create abcdef.0123456789abcdef 2>"$T/err"; then fail "duplicate token created"; fi
grep -q 'already exists' "$T/err" || fail "duplicate error: $(cat "$T/err")"
if tok create --ttl 1d 2>"$T/err"; then fail "--ttl 1d accepted"; fi
grep -q 'invalid --ttl' "$T/err" || fail "ttl error: $(cat "$T/err")"
if tok create --usages encryption 2>/dev/null; then fail "bad usage accepted"; fi
if "$MASTER" token --kubeconfig /nonexistent list 2>"$T/err"; then fail "missing kubeconfig accepted"; fi
grep -q '/nonexistent' "$T/err" || fail "missing kubeconfig error: $(cat "$T/err")"

echo "== token delete"
tok delete "$TOKEN" | grep -q "bootstrap token \"$ID\" deleted" || fail "delete output"
[ "$(status /apis/certificates.k8s.io/v1/certificatesigningrequests "$TOKEN")" = 401 ] || fail "deleted token accepted"
tok list | grep -q "^$TOKEN" && fail "deleted token still listed"
if tok delete "$ID" 2>/dev/null; then fail "deleting twice succeeded"; fi
echo "PASS"
