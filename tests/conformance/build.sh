#!/usr/bin/env bash
# tests/conformance/build.sh - builds the upstream Kubernetes v1.20 conformance suite offline:
# e2e.test, the matching kubectl, agnhost and sample-apiserver, from Debian 12's `kubernetes`
# source package (the untouched upstream v1.20.2 tree with vendor/ and test/e2e/).
#
# Usage: tests/conformance/build.sh [--deps]
#   --deps   first install the toolchain this path needs (golang-go, mmdebstrap, dpkg-dev);
#            the default CI never installs them.
#
# Environment (all optional):
#   SKIFF_CONFORMANCE_CACHE  cache directory (default ${XDG_CACHE_HOME:-~/.cache}/skiff-conformance):
#                              apt/       private apt state and the downloaded source package
#                              src/       the unpacked, build-fixed source tree (kept)
#                              go-build/  the Go build cache (GOCACHE; ~1.5 GB; warm rebuilds
#                                         take about a minute)
#                              bin/       e2e.test kubectl agnhost sample-apiserver nnp build-info.txt
#   DEBIAN_MIRROR   default: the first Debian archive URI of this machine's apt sources
#   DEBIAN_SUITE    default bookworm (the last Debian release whose kubernetes source has test/e2e)
#   BUILD_JOBS      go -p and GOMAXPROCS (default 2)
#   REBUILD=1       rebuild the binaries even when they are newer than the source tree
#
# Every go compile runs under `buildslot` when it is on PATH (the machine-wide build semaphore).
# Offline apart from apt: GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local.
set -euo pipefail

log() { echo "conformance/build: $*" >&2; }
die() { log "error: $*"; exit 1; }

if [ "${1:-}" = --deps ]; then
  pk=()
  for p in golang-go mmdebstrap dpkg-dev busybox-static python3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || pk+=("$p")
  done
  if [ ${#pk[@]} -gt 0 ]; then
    log "installing ${pk[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pk[@]}" >&2
  fi
  shift
fi
[ $# -eq 0 ] || { sed -n '2,9p' "$0" >&2; exit 2; }

CACHE=${SKIFF_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skiff-conformance}
BUILD_JOBS=${BUILD_JOBS:-2}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
if [ -z "${DEBIAN_MIRROR:-}" ]; then
  DEBIAN_MIRROR=$( (grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
                   cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                     | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) print $i }') \
                   | grep -v security | head -n 1) || true
fi
command -v go >/dev/null || die "no go toolchain; run with --deps (Debian's golang-go, go 1.19)"
mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/dl" "$CACHE/bin" "$CACHE/go-build"
SRC=$CACHE/src
SLOT=(); command -v buildslot >/dev/null && SLOT=(buildslot)

# --- 1. the source package -----------------------------------------------------------------
# A private apt configuration (deb-src line only) so the machine's own sources stay untouched.
if [ ! -f "$SRC/.skiff-source" ]; then
  [ -n "$DEBIAN_MIRROR" ] || die "no Debian mirror found in the apt sources; set DEBIAN_MIRROR"
  A=$CACHE/apt
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $DEBIAN_SUITE main" >"$A/sources.list"
  APTO=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/none"
        -o "Dir::State::Lists=$A/lists" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  ORIG=$(find "$A/dl" -maxdepth 1 -name 'kubernetes_*.orig.tar.*' | sort | tail -n 1)
  if [ -z "$ORIG" ]; then
    log "fetching the kubernetes source package from $DEBIAN_MIRROR $DEBIAN_SUITE"
    apt-get "${APTO[@]}" -qq update >&2
    (cd "$A/dl" && apt-get "${APTO[@]}" -qq source --download-only kubernetes) >&2
    ORIG=$(find "$A/dl" -maxdepth 1 -name 'kubernetes_*.orig.tar.*' | sort | tail -n 1)
    [ -n "$ORIG" ] || die "apt-get source kubernetes brought no orig tarball"
  fi
  log "unpacking $(basename "$ORIG")"
  rm -rf "$SRC.new" && mkdir -p "$SRC.new"
  TOP=$(tar -tf "$ORIG" | awk -F/ 'NR == 1 { print $1 }')
  tar -xf "$ORIG" -C "$SRC.new" --strip-components=1
  [ -f "$SRC.new/go.mod" ] && [ -d "$SRC.new/test/e2e" ] && [ -d "$SRC.new/vendor" ] \
    || die "$(basename "$ORIG") lacks go.mod, test/e2e/ or vendor/ (a stripped +ds tarball?)"
  rm -rf "$SRC" && mv "$SRC.new" "$SRC"
  printf 'orig=%s\nversion=v%s\n' "$(basename "$ORIG")" "${TOP#kubernetes-}" >"$SRC/.skiff-source"
  # Only the orig tarball is needed; the Debian packaging and the .dsc go.
  find "$A/dl" -maxdepth 1 -type f ! -name 'kubernetes_*.orig.tar.*' -delete
fi
K8S_VERSION=$(sed -n 's/^version=//p' "$SRC/.skiff-source")
echo "$K8S_VERSION" | grep -Eq '^v1\.[0-9]+\.[0-9]+$' || die "cannot tell the source's version ('$K8S_VERSION')"

export GOFLAGS=-mod=vendor GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local GO111MODULE=on
export GOMAXPROCS=$BUILD_JOBS CGO_ENABLED=0 GOCACHE=$CACHE/go-build GOPATH=$CACHE/gopath
cd "$SRC"

# --- 2. two build fixes for go 1.19, neither touching code ---------------------------------
# (a) go 1.15 wrote vendor/modules.txt with "# path => replacement" lines between a module's
#     header and its packages; go >= 1.17 then thinks go.mod needs updating. Re-attach each
#     package to the module that is its longest prefix and put the wildcard lines last.
if ! err=$(go list ./test/e2e 2>&1 >/dev/null) && grep -q 'updates to go.mod needed' <<<"$err"; then
  log "rewriting vendor/modules.txt into the go >= 1.17 layout"
  awk '
    /^# / { if ($3 == "=>") { wild[++nw] = $0; next }
            mod = $2; order[++nm] = mod; hdr[mod] = $0; next }
    /^## / { extra[mod] = extra[mod] $0 "\n"; next }
    NF == 1 { pk[++np] = $1; next }
    END {
      for (i = 1; i <= nm; i++) ismod[order[i]] = 1
      for (j = 1; j <= np; j++) {
        p = pk[j]; m = p
        while (!(m in ismod) && index(m, "/")) sub(/\/[^\/]*$/, "", m)
        if (!(m in ismod)) { print "no module for package " p > "/dev/stderr"; bad = 1; continue }
        pkgs[m] = pkgs[m] p "\n"
      }
      for (i = 1; i <= nm; i++) { m = order[i]; printf "%s\n%s%s", hdr[m], extra[m], pkgs[m] }
      for (k = 1; k <= nw; k++) print wild[k]
      exit bad
    }' vendor/modules.txt >vendor/modules.txt.new
  mv vendor/modules.txt.new vendor/modules.txt
fi
go list ./test/e2e >/dev/null || die "go cannot load ./test/e2e in vendor mode"
# (b) test/e2e/generated/bindata.go, which upstream's make generated (hack/generate-bindata.sh)
#     with the vendored go-bindata from the same inputs.
if [ ! -f test/e2e/generated/bindata.go ]; then
  log "generating test/e2e/generated/bindata.go"
  "${SLOT[@]}" nice go build -o "$CACHE/bin/go-bindata" ./vendor/github.com/go-bindata/go-bindata/go-bindata
  "$CACHE/bin/go-bindata" -nometadata -o test/e2e/generated/bindata.go.tmp -pkg generated \
    -ignore .jpg -ignore .png -ignore .md -ignore 'BUILD(\.bazel)?' \
    "test/conformance/testdata/..." "test/e2e/testing-manifests/..." \
    "test/e2e_node/testing-manifests/..." "test/images/..." "test/fixtures/..."
  gofmt -s -w test/e2e/generated/bindata.go.tmp
  mv test/e2e/generated/bindata.go.tmp test/e2e/generated/bindata.go
fi

# --- 3. compile ----------------------------------------------------------------------------
MAJOR=${K8S_VERSION#v}; MAJOR=${MAJOR%%.*}
MINOR=${K8S_VERSION#v*.}; MINOR=${MINOR%%.*}
STAMP=$(date -u -r "$SRC/.skiff-source" +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$MAJOR -X $p.gitMinor=$MINOR"
  LDFLAGS+=" -X $p.gitTreeState=archive -X $p.buildDate=$STAMP"
done
GOB=(-p "$BUILD_JOBS" -trimpath -tags selinux,notest -ldflags "$LDFLAGS")
# agnhost reports its own version (2.21 for v1.20.2's test/images/agnhost/VERSION).
AGNHOST_VERSION=$(cat test/images/agnhost/VERSION)

build() { # build NAME PACKAGE GO-ARGS...: compile into bin/NAME unless it is newer than the tree
  local name=$1 pkg=$2; shift 2
  if [ "${REBUILD:-0}" != 1 ] && [ "$CACHE/bin/$name" -nt "$SRC/.skiff-source" ] \
     && [ -f "$CACHE/bin/.$name.ok" ]; then
    log "$name: up to date"; return 0
  fi
  log "compiling $name"
  local t0=$SECONDS
  "${SLOT[@]}" nice -n 19 go "$@" -o "$CACHE/bin/$name.new" "$pkg"
  mv "$CACHE/bin/$name.new" "$CACHE/bin/$name"
  touch "$CACHE/bin/.$name.ok"
  echo "${name}_build_seconds=$((SECONDS - t0))" >>"$CACHE/bin/build-times.txt"
}
build e2e.test ./test/e2e test -c -vet=off "${GOB[@]}"
build kubectl ./cmd/kubectl build "${GOB[@]}"
build agnhost ./test/images/agnhost build -p "$BUILD_JOBS" -trimpath -ldflags "-s -w -X main.Version=$AGNHOST_VERSION"
build sample-apiserver k8s.io/sample-apiserver build "${GOB[@]}"
build nnp ./test/images/nonewprivs build "${GOB[@]}"

{
  echo "kubernetes_version=$K8S_VERSION"
  echo "source=$(sed -n 's/^orig=//p' "$SRC/.skiff-source") (Debian $DEBIAN_SUITE)"
  echo "go=$(go env GOVERSION)"
  echo "agnhost_version=$AGNHOST_VERSION"
  for b in e2e.test kubectl agnhost sample-apiserver nnp; do
    echo "$b sha256=$(sha256sum "$CACHE/bin/$b" | cut -d' ' -f1)"
  done
} >"$CACHE/bin/build-info.txt"
cat "$CACHE/bin/build-info.txt"
