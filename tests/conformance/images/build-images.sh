#!/usr/bin/env bash
# tests/conformance/images/build-images.sh - builds the images the v1.20 conformance tests run,
# as honest stand-ins made only from Debian packages and the same Kubernetes source tree, under
# the exact names of test/utils/image/manifest.go. Each image is one OCI image-layout archive
# (one layer) in $SKIFF_CONFORMANCE_CACHE/images/, which skiff-agent imports (--preload-image,
# its <root-dir>/images drop directory, or `skiffctl ctr import`). See README.md for the table.
#
# Usage: tests/conformance/images/build-images.sh [IMAGE...]   (default: all of them)
#   IMAGE is one of: pause busybox agnhost kitten nautilus sample-apiserver nonewprivs
#   jessie-dnsutils httpd nginx etcd
# Needs root (mmdebstrap --mode=root), gcc, busybox-static, mmdebstrap and the binaries of
# ../build.sh (agnhost, sample-apiserver) in $SKIFF_CONFORMANCE_CACHE/bin.
# Environment: SKIFF_CONFORMANCE_CACHE (as build.sh), DEBIAN_MIRROR, DEBIAN_SUITE (bookworm),
#   REBUILD=1 to rebuild archives that exist already.
set -euo pipefail

log() { echo "conformance/images: $*" >&2; }
die() { log "error: $*"; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SKIFF_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skiff-conformance}
OUT=$CACHE/images
BIN=$CACHE/bin
SRC=$CACHE/src
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
if [ -z "${DEBIAN_MIRROR:-}" ]; then
  DEBIAN_MIRROR=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
                  | grep -v security | head -n 1) || true
fi
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap --mode=root keeps file ownership)"
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ARCH=$(dpkg --print-architecture)

# oci_archive OUT ROOTFS CONFIG NAME...: one-layer OCI image-layout archive of ROOTFS; CONFIG is
# the image config's "config" object (JSON: Entrypoint, Cmd, Env, WorkingDir, ExposedPorts,
# StopSignal); every NAME is an index entry pointing at the same manifest. Deterministic.
oci_archive() {
  local out=$1 root=$2 cfg=$3; shift 3
  local L=$WORK/oci.$$ t
  rm -rf "$L" && mkdir -p "$L/blobs/sha256"
  tar --sort=name --mtime=@0 --numeric-owner -C "$root" -cf "$WORK/layer.tar" .
  local diffid; diffid=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
  gzip -n -6 "$WORK/layer.tar"
  python3 - "$L" "$WORK/layer.tar.gz" "$diffid" "$cfg" "$ARCH" "$@" <<'PY'
import hashlib, json, os, sys
L, layer, diffid, cfg, arch, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(L, 'blobs/sha256', d), 'wb') as f:
        f.write(data)
    return 'sha256:' + d, len(data)
h = hashlib.sha256()
with open(layer, 'rb') as f:
    for chunk in iter(lambda: f.read(1 << 20), b''):
        h.update(chunk)
ldig = h.hexdigest()
os.rename(layer, os.path.join(L, 'blobs/sha256', ldig))
lsize = os.path.getsize(os.path.join(L, 'blobs/sha256', ldig))
config = {'architecture': arch, 'os': 'linux', 'config': json.loads(cfg),
          'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + diffid]},
          'history': [{'created_by': 'skiff tests/conformance/images (Debian stand-in for %s)' % names[0]}]}
cdig, csize = blob(json.dumps(config, sort_keys=True).encode())
man = {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
       'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': cdig, 'size': csize},
       'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': 'sha256:' + ldig, 'size': lsize}]}
mdig, msize = blob(json.dumps(man, sort_keys=True).encode())
index = {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json', 'manifests': [
    {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': mdig, 'size': msize,
     'platform': {'architecture': arch, 'os': 'linux'},
     'annotations': {'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': n.rsplit(':', 1)[1]}}
    for n in names]}
with open(os.path.join(L, 'index.json'), 'w') as f:
    json.dump(index, f, sort_keys=True)
with open(os.path.join(L, 'oci-layout'), 'w') as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
PY
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$L" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$L"
  log "$(basename "$out"): $(du -h "$out" | cut -f1) -> $*"
}

# busybox_root DIR: /bin/busybox from Debian's busybox-static, one link per applet, the passwd
# and group files of Docker's busybox image.
busybox_root() {
  local R=$1 bb; bb=$(command -v busybox) || die "no busybox (Debian busybox-static)"
  file -L "$bb" | grep -q 'statically linked' || die "$bb is not static: install busybox-static"
  mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,var/www,proc,sys,dev}
  cp "$bb" "$R/bin/busybox"
  chmod 1777 "$R/tmp"; chmod 0700 "$R/root"
  "$bb" --list-full | while read -r p; do
    [ "$p" = bin/busybox ] || ln -sf /bin/busybox "$R/$p"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' \
    'bin:x:2:2:bin:/bin:/bin/false' 'sys:x:3:3:sys:/dev:/bin/false' \
    'www-data:x:33:33:www-data:/var/www:/bin/false' 'nobody:x:65534:65534:nobody:/home:/bin/false' >"$R/etc/passwd"
  printf '%s\n' 'root:x:0:' 'daemon:x:1:' 'bin:x:2:' 'sys:x:3:' 'adm:x:4:' 'tty:x:5:' 'disk:x:6:' \
    'wheel:x:10:root' 'www-data:x:33:' 'users:x:100:' 'nogroup:x:65534:' >"$R/etc/group"
}

# debian_root DIR PACKAGE...: a Debian rootfs (mmdebstrap, variant essential: dpkg, bash,
# coreutils, ...) with PACKAGE... installed, without docs, man pages, locales and apt lists.
debian_root() {
  local R=$1; shift
  local inc; inc=$(IFS=,; echo "$*")
  log "mmdebstrap $DEBIAN_SUITE essential + $inc"
  nice mmdebstrap --quiet --mode=root --variant=essential --include="$inc" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log' \
    "$DEBIAN_SUITE" "$R" "$DEBIAN_MIRROR" >&2
  # Image builds run no init: services the packages' postinst tried to start never ran.
  rm -f "$R/usr/sbin/policy-rc.d"
}

# ---- the images ---------------------------------------------------------------------------
img_pause() {  # k8s.gcr.io/pause:3.2 - upstream's build/pause/linux/pause.c, static
  local R=$WORK/pause
  mkdir -p "$R"
  gcc -Os -static -Wall -Werror -DVERSION=v3.2-skiff -o "$R/pause" "$SRC/build/pause/linux/pause.c"
  strip "$R/pause"
  oci_archive "$OUT/pause.tar" "$R" '{"Entrypoint":["/pause"],"User":"65535:65535"}' k8s.gcr.io/pause:3.2
}
img_busybox() {  # docker.io/library/busybox:1.29
  busybox_root "$WORK/busybox"
  oci_archive "$OUT/busybox.tar" "$WORK/busybox" \
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}' \
    docker.io/library/busybox:1.29
}
agnhost_root() {  # the agnhost image's root at $1 (test/images/agnhost/Dockerfile)
  local R=$1
  [ -x "$BIN/agnhost" ] || die "no $BIN/agnhost: run tests/conformance/build.sh first"
  # upstream: alpine + bind-tools curl netcat-openbsd iproute2 iperf bash
  debian_root "$R" bind9-dnsutils curl netcat-openbsd iproute2 iperf ca-certificates
  mkdir -p "$R/uploads"
  cp "$BIN/agnhost" "$R/agnhost"
  ln -s agnhost "$R/agnhost-2"
  cp "$SRC/test/images/agnhost/porter/localhost.crt" "$SRC/test/images/agnhost/porter/localhost.key" "$R/"
  ln -sf /usr/bin/iperf "$R/usr/local/bin/iperf"
}
AGNHOST_CONFIG='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/agnhost"]'
img_agnhost() {  # k8s.gcr.io/e2e-test-images/agnhost:2.21 - test/images/agnhost/Dockerfile
  local R=$WORK/agnhost
  agnhost_root "$R"
  oci_archive "$OUT/agnhost.tar" "$R" \
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/agnhost"],"Cmd":["pause"],"ExposedPorts":{"80/tcp":{},"8080/tcp":{},"8081/tcp":{},"9376/tcp":{}}}' \
    k8s.gcr.io/e2e-test-images/agnhost:2.21
}
# kitten and nautilus (the kubectl "Update Demo" tests' replication controllers):
# test/images/{kitten,nautilus}/Dockerfile, agnhost with the picture and data.json at / and
# `test-webserver` serving them on port 80.
agnhost_webserver() {
  local name=$1 R=$WORK/$1
  agnhost_root "$R"
  cp "$SRC/test/images/$name/html/$name.jpg" "$SRC/test/images/$name/html/data.json" "$R/"
  oci_archive "$OUT/$name.tar" "$R" "{$AGNHOST_CONFIG,\"Cmd\":[\"test-webserver\"],\"ExposedPorts\":{\"80/tcp\":{}}}" \
    "gcr.io/kubernetes-e2e-test-images/$name:1.0"
}
img_kitten() { agnhost_webserver kitten; }      # gcr.io/kubernetes-e2e-test-images/kitten:1.0
img_nautilus() { agnhost_webserver nautilus; }  # gcr.io/kubernetes-e2e-test-images/nautilus:1.0
img_sample-apiserver() {  # gcr.io/kubernetes-e2e-test-images/sample-apiserver:1.17 - FROM busybox
  local R=$WORK/sample-apiserver
  [ -x "$BIN/sample-apiserver" ] || die "no $BIN/sample-apiserver: run tests/conformance/build.sh first"
  busybox_root "$R"
  cp "$BIN/sample-apiserver" "$R/sample-apiserver"
  oci_archive "$OUT/sample-apiserver.tar" "$R" \
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/sample-apiserver"]}' \
    gcr.io/kubernetes-e2e-test-images/sample-apiserver:1.17
}
img_nonewprivs() {  # gcr.io/kubernetes-e2e-test-images/nonewprivs:1.0 - test/images/nonewprivs
  local R=$WORK/nonewprivs
  [ -x "$BIN/nnp" ] || die "no $BIN/nnp: run tests/conformance/build.sh first"
  busybox_root "$R"   # upstream: alpine 3.6
  mkdir -p "$R/usr/local/bin"
  cp "$BIN/nnp" "$R/usr/local/bin/nnp"
  chmod 4755 "$R/usr/local/bin/nnp"   # setuid root, as upstream's `chmod +s`
  oci_archive "$OUT/nonewprivs.tar" "$R" \
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["nnp"]}' \
    gcr.io/kubernetes-e2e-test-images/nonewprivs:1.0
}
img_jessie-dnsutils() {  # gcr.io/kubernetes-e2e-test-images/jessie-dnsutils:1.0 - debian + dnsutils
  local R=$WORK/jessie-dnsutils
  debian_root "$R" bind9-dnsutils dnsutils wget
  oci_archive "$OUT/jessie-dnsutils.tar" "$R" \
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["bash"]}' \
    gcr.io/kubernetes-e2e-test-images/jessie-dnsutils:1.0
}
img_httpd() {  # docker.io/library/httpd:2.4.38-alpine and 2.4.39-alpine - Debian's apache2
  local R=$WORK/httpd
  debian_root "$R" apache2
  # The real image's layout: ServerRoot /usr/local/apache2, htdocs there, logs to the
  # container's stdout/stderr, `httpd-foreground` as the command, port 80.
  mkdir -p "$R/usr/local/apache2/htdocs" "$R/usr/local/bin"
  echo '<html><body><h1>It works!</h1></body></html>' >"$R/usr/local/apache2/htdocs/index.html"
  sed -i 's#/var/www/html#/usr/local/apache2/htdocs#' "$R/etc/apache2/sites-available/000-default.conf"
  sed -i 's#<Directory /var/www/>#<Directory /usr/local/apache2/htdocs/>#' "$R/etc/apache2/apache2.conf"
  sed -i 's#^ErrorLog .*#ErrorLog /proc/self/fd/2#' "$R/etc/apache2/apache2.conf"
  sed -i 's#CustomLog .*#CustomLog /proc/self/fd/1 combined#; s#ErrorLog .*#ErrorLog /proc/self/fd/2#' \
    "$R/etc/apache2/sites-available/000-default.conf"
  echo 'ServerName localhost' >>"$R/etc/apache2/apache2.conf"
  cat >"$R/usr/local/bin/httpd-foreground" <<'SH'
#!/bin/sh
# As the httpd image's httpd-foreground: apache in the foreground, a stale pid file removed.
set -e
. /etc/apache2/envvars
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
rm -f "$APACHE_PID_FILE"
exec apache2 -DFOREGROUND "$@"
SH
  chmod 0755 "$R/usr/local/bin/httpd-foreground"
  ln -s apache2 "$R/usr/sbin/httpd"
  oci_archive "$OUT/httpd.tar" "$R" \
    '{"Env":["PATH=/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","HTTPD_PREFIX=/usr/local/apache2"],"WorkingDir":"/usr/local/apache2","Cmd":["httpd-foreground"],"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGWINCH"}' \
    docker.io/library/httpd:2.4.38-alpine docker.io/library/httpd:2.4.39-alpine
}
img_nginx() {  # docker.io/library/nginx:1.14-alpine and 1.15-alpine - Debian's nginx
  local R=$WORK/nginx
  debian_root "$R" nginx
  mkdir -p "$R/usr/share/nginx/html"
  printf '%s\n' '<!DOCTYPE html>' '<html>' '<head><title>Welcome to nginx!</title></head>' \
    '<body><h1>Welcome to nginx!</h1></body>' '</html>' >"$R/usr/share/nginx/html/index.html"
  sed -i 's#root /var/www/html;#root /usr/share/nginx/html;#' "$R/etc/nginx/sites-available/default"
  ln -sf /dev/stdout "$R/var/log/nginx/access.log"
  ln -sf /dev/stderr "$R/var/log/nginx/error.log"
  oci_archive "$OUT/nginx.tar" "$R" \
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["nginx","-g","daemon off;"],"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGTERM"}' \
    docker.io/library/nginx:1.14-alpine docker.io/library/nginx:1.15-alpine
}
img_etcd() {  # k8s.gcr.io/etcd:3.4.13-0 - Debian's etcd-server 3.4, at /usr/local/bin/etcd
  local R=$WORK/etcd
  debian_root "$R" etcd-server
  ln -s /usr/bin/etcd "$R/usr/local/bin/etcd"
  oci_archive "$OUT/etcd.tar" "$R" \
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"ExposedPorts":{"2379/tcp":{},"2380/tcp":{}}}' \
    k8s.gcr.io/etcd:3.4.13-0
}

ALL=(pause busybox agnhost kitten nautilus sample-apiserver nonewprivs jessie-dnsutils httpd nginx etcd)
[ $# -gt 0 ] || set -- "${ALL[@]}"
for i in "$@"; do
  declare -F "img_$i" >/dev/null || die "unknown image '$i' (one of: ${ALL[*]})"
  # An archive is current when the code that makes it is unchanged.
  STAMP=$(declare -f "img_$i" oci_archive busybox_root debian_root agnhost_root agnhost_webserver | sha256sum | cut -c1-16)
  if [ "${REBUILD:-0}" != 1 ] && [ -f "$OUT/$i.tar" ] && [ "$(cat "$OUT/.$i.stamp" 2>/dev/null)" = "$STAMP" ]; then
    log "$i: up to date"; continue
  fi
  t0=$SECONDS
  "img_$i"
  echo "$STAMP" >"$OUT/.$i.stamp"
  log "$i: built in $((SECONDS - t0)) s"
done
ls -l "$OUT"/*.tar >&2
