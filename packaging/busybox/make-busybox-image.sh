#!/bin/sh
# Builds the bundled busybox image as an OCI image-layout archive from Debian's busybox-static:
# /bin/busybox, one symlink per applet (busybox --list-full), /etc/passwd, /etc/group, /tmp.
# Deterministic (sorted entries, mtime 0, numeric root ownership) so rebuilds keep the digest.
# Usage: make-busybox-image.sh <busybox binary> <output archive>
set -eu
BB=$1
OUT=$2
WORK=$(mktemp -d "${OUT}.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/root" "$R/home" "$R/var" "$R/usr/bin" "$R/usr/sbin" "$R/sbin"
cp "$BB" "$R/bin/busybox"
chmod 0755 "$R/bin/busybox"
chmod 1777 "$R/tmp"
chmod 0700 "$R/root"
"$BB" --list-full | while read -r p; do
  [ "$p" = "bin/busybox" ] && continue
  mkdir -p "$R/$(dirname "$p")"
  ln -sf /bin/busybox "$R/$p"
done
cat > "$R/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat > "$R/etc/group" <<'G'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
www-data:x:33:
users:x:100:
nogroup:x:65534:
G
L=$WORK/oci
mkdir -p "$L/blobs/sha256"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$R" -cf "$WORK/layer.tar" .
DIFFID=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
gzip -n -9 -c "$WORK/layer.tar" > "$WORK/layer.tar.gz"
LAYER=$(sha256sum "$WORK/layer.tar.gz" | cut -d' ' -f1)
LAYER_SIZE=$(stat -c %s "$WORK/layer.tar.gz")
mv "$WORK/layer.tar.gz" "$L/blobs/sha256/$LAYER"
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"skiff packaging/busybox from Debian busybox-static"}]}' \
  "$ARCH" "$DIFFID" > "$WORK/config.json"
CONFIG=$(sha256sum "$WORK/config.json" | cut -d' ' -f1)
CONFIG_SIZE=$(stat -c %s "$WORK/config.json")
mv "$WORK/config.json" "$L/blobs/sha256/$CONFIG"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$CONFIG" "$CONFIG_SIZE" "$LAYER" "$LAYER_SIZE" > "$WORK/manifest.json"
MANIFEST=$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)
MANIFEST_SIZE=$(stat -c %s "$WORK/manifest.json")
mv "$WORK/manifest.json" "$L/blobs/sha256/$MANIFEST"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"docker.io/library/busybox:latest","org.opencontainers.image.ref.name":"latest"}}]}' \
  "$MANIFEST" "$MANIFEST_SIZE" "$ARCH" > "$L/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$L/oci-layout"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$L" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
