#pragma once

#include <utility>

namespace skiff {

// Runs a callable when the scope ends unless dismiss()ed: the generic rollback owner for
// "a failed start leaves nothing behind" (STYLE.md §5).
template <typename F>
class [[nodiscard]] ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ~ScopeExit() {
    if (armed_) f_();
  }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  void dismiss() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace skiff
