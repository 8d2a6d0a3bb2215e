#pragma once

// Quantity::parse's exact decimal for the slow path (quantity.cc): an arbitrary-precision
// unsigned integer in base 10^9 with the few operations the parse needs (upstream uses inf.Dec).

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace skiff::quantity_detail {

__extension__ typedef unsigned __int128 UInt128;

class BigDec {
 public:
  static BigDec fromDigits(std::string_view digits) {
    BigDec b;
    for (char c : digits) {
      b.mulSmall(10);
      b.addSmall(static_cast<std::uint32_t>(c - '0'));
    }
    return b;
  }
  bool isZero() const { return limbs_.empty(); }
  std::uint32_t mod10() const { return limbs_.empty() ? 0 : limbs_[0] % 10; }
  void mulSmall(std::uint32_t f) {
    std::uint64_t carry = 0;
    for (auto& l : limbs_) {
      std::uint64_t v = std::uint64_t(l) * f + carry;
      l = static_cast<std::uint32_t>(v % kBase);
      carry = v / kBase;
    }
    while (carry) {
      limbs_.push_back(static_cast<std::uint32_t>(carry % kBase));
      carry /= kBase;
    }
    trim();
  }
  void addSmall(std::uint32_t a) {
    std::uint64_t carry = a;
    for (std::size_t i = 0; carry && i < limbs_.size(); ++i) {
      std::uint64_t v = limbs_[i] + carry;
      limbs_[i] = static_cast<std::uint32_t>(v % kBase);
      carry = v / kBase;
    }
    if (carry) limbs_.push_back(static_cast<std::uint32_t>(carry));
  }
  // Divides in place; returns the remainder.
  std::uint32_t divSmall(std::uint32_t d) {
    std::uint64_t rem = 0;
    for (std::size_t i = limbs_.size(); i-- > 0;) {
      std::uint64_t cur = limbs_[i] + rem * kBase;
      limbs_[i] = static_cast<std::uint32_t>(cur / d);
      rem = cur % d;
    }
    trim();
    return static_cast<std::uint32_t>(rem);
  }
  // The value if it is below `limit`.
  std::optional<UInt128> toU128(UInt128 limit) const {
    if (limbs_.size() > 5) return std::nullopt;
    UInt128 v = 0;
    for (std::size_t i = limbs_.size(); i-- > 0;) v = v * kBase + limbs_[i];
    if (v >= limit) return std::nullopt;
    return v;
  }

 private:
  static constexpr std::uint64_t kBase = 1000000000;
  void trim() {
    while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
  }
  std::vector<std::uint32_t> limbs_;  // little-endian
};

}  // namespace skiff::quantity_detail
