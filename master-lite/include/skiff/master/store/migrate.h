#pragma once

// `skiff-master migrate`: copies a stopped master's SQLite store into an empty etcd, so a cluster
// that outgrew one box moves to etcd (and to several masters) with every object intact.

#include <cstdint>
#include <functional>
#include <string>

#include "skiff/common/result.h"
#include "skiff/master/store/store.h"

namespace skiff::master::store {

struct MigrateOptions {
  std::string from_prefix = "/registry";  // every key of the source starts with it
  std::string to_prefix = "/registry";    // --etcd-prefix of the masters that will use the etcd
  // Concurrent writers raising etcd's revision (see migrateToEtcd).
  int revision_writers = 8;
  std::function<void(const std::string&)> progress = [](const std::string&) {};
};

struct MigrateResult {
  std::size_t objects = 0;
  std::size_t bytes = 0;
  std::int64_t source_revision = 0;  // the SQLite store's last revision
  std::int64_t first_revision = 0;   // etcd's revision of the first copied object
  std::int64_t target_revision = 0;  // etcd's revision when the copy was done
};

// Copies every key of `from` into the etcd `to` (an EtcdOptions as for openEtcdStore; its
// prefix and key namespace are not used, `options.to_prefix` is) and checks the copy.
//
// resourceVersions keep moving forward: before copying, etcd's revision is raised past the
// source's last revision (etcd adds one per write transaction; a scratch key outside the prefix
// takes the writes and is deleted after), so every copied object gets a resourceVersion above
// any a client saw, and a client's watch from an old resourceVersion gets 410 Gone and relists
// instead of waiting for revisions that were never written. Objects are copied in the order of
// their last modification, so their relative order is kept too. At the end etcd is compacted to
// the revision before the copy.
//
// Nothing is overwritten: the target prefix must be empty (AlreadyExists otherwise, with the
// count), each key is created only if absent, and the check at the end counts the keys under
// the prefix. An object etcd cannot take (over its 1.5 MiB request limit) is refused before
// anything is written.
Result<MigrateResult> migrateToEtcd(Store& from, const EtcdOptions& to,
                                    const MigrateOptions& options = {});

}  // namespace skiff::master::store
