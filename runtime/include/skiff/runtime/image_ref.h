#pragma once

// Image references as Kubernetes users write them, normalised the way containerd/docker do
// (github.com/distribution/reference ParseNormalizedNamed):
//   busybox                      -> docker.io/library/busybox:latest
//   busybox:1.36                 -> docker.io/library/busybox:1.36
//   user/app                     -> docker.io/user/app:latest
//   registry:5000/a/b@sha256:... -> registry:5000/a/b@sha256:...
//   localhost/app                -> localhost/app:latest (a first component with '.' or ':' or
//                                   equal to "localhost" is a registry host)

#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff::runtime {

struct ImageRef {
  std::string domain;      // docker.io, registry:5000
  std::string repository;  // library/busybox, a/b
  std::string tag;         // empty when only a digest was given
  std::string digest;      // sha256:<64 hex> or empty

  // Canonical string: domain/repository[:tag][@digest].
  std::string str() const;
  // domain/repository
  std::string name() const;
  // The registry API host: docker.io is served by registry-1.docker.io.
  std::string registryHost() const;
};

// Parses and normalises; Invalid for an empty, upper-case repository, a bad tag or digest.
Result<ImageRef> parseImageRef(std::string_view ref);

// Checks "sha256:<64 lower-case hex>".
bool isValidDigest(std::string_view digest);

}  // namespace skiff::runtime
