#include "skiff/netproxy/ipam.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "skiff/common/file.h"
#include "skiff/common/unique_fd.h"

namespace skiff::netproxy {

namespace fs = std::filesystem;

namespace {
Result<UniqueFd> lockDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Error(ErrorCode::Internal, fmt::format("create IPAM dir '{}': {}", dir, ec.message()));
  std::string path = dir + "/lock";
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) return Error::fromErrno(errno, fmt::format("open '{}'", path));
  if (::flock(fd.get(), LOCK_EX) != 0)
    return Error::fromErrno(errno, fmt::format("lock '{}'", path));
  return fd;
}
}  // namespace

Ipam::Ipam(Cidr range, std::string dir) : range_(range), dir_(std::move(dir)) {}

Result<std::optional<Ipv4>> Ipam::findLocked(const std::string& owner) const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    auto ip = Ipv4::parse(entry.path().filename().string());
    if (!ip) continue;  // lock, last_reserved_ip
    auto content = readFile(entry.path().string(), 4096);
    if (content && *content == owner) return std::optional<Ipv4>(*ip);
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Error(ErrorCode::Internal, fmt::format("read IPAM dir '{}': {}", dir_, ec.message()));
  }
  return std::optional<Ipv4>();
}

Result<std::optional<Ipv4>> Ipam::lookup(const std::string& owner) const {
  {
    std::lock_guard lk(found_mu_);
    if (auto it = found_.find(owner); it != found_.end()) {
      // Reservation files are created whole-named and unlinked atomically: reading one without
      // the directory lock sees its owner, nothing, or a partial write that will not match.
      auto content = readFile(dir_ + "/" + it->second.str(), 4096);
      if (content && *content == owner) return std::optional<Ipv4>(it->second);
      found_.erase(it);
    }
  }
  SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockDir(dir_));
  SKIFF_ASSIGN_OR_RETURN(auto ip, findLocked(owner));
  if (ip) {
    std::lock_guard lk(found_mu_);
    found_[owner] = *ip;
  }
  return ip;
}

Result<Ipv4> Ipam::allocate(const std::string& owner) {
  if (range_.prefix > 30) {
    return Error(ErrorCode::Invalid,
                 fmt::format("allocate from '{}': range too small", range_.str()));
  }
  SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockDir(dir_));
  SKIFF_ASSIGN_OR_RETURN(auto existing, findLocked(owner));
  if (existing) return *existing;
  uint32_t first = range_.network().value + 2;  // .0 network, .1 gateway
  uint32_t last = range_.broadcast().value - 1;
  uint32_t start = first;
  if (auto prev = readFile(dir_ + "/last_reserved_ip", 64)) {
    if (auto ip = Ipv4::parse(*prev);
        ip && range_.contains(*ip) && ip->value >= first && ip->value < last) {
      start = ip->value + 1;
    }
  }
  uint32_t n = last - first + 1;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t cand = first + (start - first + i) % n;
    std::string path = dir_ + "/" + Ipv4{cand}.str();
    UniqueFd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
    if (!fd) {
      if (errno == EEXIST) continue;
      return Error::fromErrno(errno, fmt::format("reserve '{}'", path));
    }
    if (::write(fd.get(), owner.data(), owner.size()) != static_cast<ssize_t>(owner.size())) {
      int e = errno;
      ::unlink(path.c_str());
      return Error::fromErrno(e, fmt::format("write '{}'", path));
    }
    writeHint(Ipv4{cand});
    return Ipv4{cand};
  }
  return Error(
      ErrorCode::Unavailable,
      fmt::format("allocate IP for '{}': no free address in range '{}'", owner, range_.str()));
}

// last_reserved_ip is rewritten in place, as host-local's os.WriteFile does: a temporary file
// renamed over it costs an inode allocated and one freed per pod, and ext4 without a journal
// scans past recently freed inodes on every allocation. Only writers holding the directory lock
// touch it, and a torn hint (a crash mid-write) merely fails to parse: allocation then starts
// from the bottom of the range.
void Ipam::writeHint(Ipv4 ip) const {
  std::string text = ip.str();
  UniqueFd fd(::open((dir_ + "/last_reserved_ip").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return;
  if (::pwrite(fd.get(), text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())) {
    (void)::ftruncate(fd.get(), static_cast<off_t>(text.size()));
  }
}

Result<bool> Ipam::release(const std::string& owner) {
  SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockDir(dir_));
  SKIFF_ASSIGN_OR_RETURN(auto ip, findLocked(owner));
  if (!ip) return false;
  std::string path = dir_ + "/" + ip->str();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error::fromErrno(errno, fmt::format("release '{}'", path));
  }
  return true;
}

}  // namespace skiff::netproxy
