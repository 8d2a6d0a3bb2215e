#pragma once

// Unpacks one image layer (a tar stream) into an empty directory, confined to it:
// - entry paths with a `..` component, or that traverse a symlink, are refused;
// - hardlink targets must name an earlier entry inside the layer;
// - relative symlink targets that climb above the layer root are refused (absolute targets are
//   fine: they resolve inside the container's root after pivot_root);
// - whiteouts become overlayfs whiteouts: `.wh.<name>` -> char device 0/0 `<name>`,
//   `.wh..wh..opq` -> xattr trusted.overlay.opaque=y on the directory;
// - device nodes are skipped (unless allow_devices), fifos created; ownership, mode (incl.
//   setuid/setgid/sticky), mtime and xattrs applied.
// All opens go through openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS).
// On error the directory may be partially filled; the caller stages into a temp dir and removes it.

#include <string>

#include "skiff/common/result.h"
#include "skiff/runtime/tar_reader.h"

namespace skiff::runtime {

struct UnpackOptions {
  bool allow_devices = false;
  bool apply_ownership = true;  // chown (needs CAP_CHOWN)
};

Result<void> unpackLayer(TarReader& tar, const std::string& dir, const UnpackOptions& opts = {});

// Recursively removes `path` (no symlink following), tolerating absence. Returns false if absent.
Result<bool> removeTree(const std::string& path);

}  // namespace skiff::runtime
