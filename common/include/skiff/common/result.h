#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "skiff/common/assert.h"
#include "skiff/common/error.h"

namespace skiff {

// Either a T or an Error, with the tl::expected / std::expected API subset we use, so moving to
// std::expected (C++23) later is a rename. Never throws: value() on an error is a bug and aborts.
template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(const T& value) : v_(std::in_place_index<0>, value) {}
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result<T>>)
      Result(U&& value)
      : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    SKIFF_CHECK_MSG(has_value(), "Result::value() on error");
    return std::get<0>(v_);
  }
  const T& value() const& {
    SKIFF_CHECK_MSG(has_value(), "Result::value() on error");
    return std::get<0>(v_);
  }
  T&& value() && {
    SKIFF_CHECK_MSG(has_value(), "Result::value() on error");
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  Error& error() & {
    SKIFF_CHECK_MSG(!has_value(), "Result::error() on value");
    return std::get<1>(v_);
  }
  const Error& error() const& {
    SKIFF_CHECK_MSG(!has_value(), "Result::error() on value");
    return std::get<1>(v_);
  }
  Error&& error() && {
    SKIFF_CHECK_MSG(!has_value(), "Result::error() on value");
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}

  bool has_value() const { return !e_.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const { SKIFF_CHECK_MSG(has_value(), "Result<void>::value() on error"); }

  Error& error() & {
    SKIFF_CHECK_MSG(e_.has_value(), "Result::error() on value");
    return *e_;
  }
  const Error& error() const& {
    SKIFF_CHECK_MSG(e_.has_value(), "Result::error() on value");
    return *e_;
  }
  Error&& error() && {
    SKIFF_CHECK_MSG(e_.has_value(), "Result::error() on value");
    return std::move(*e_);
  }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;

inline Result<void> ok() { return {}; }

}  // namespace skiff

#define SKIFF_CONCAT_INNER_(a, b) a##b
#define SKIFF_CONCAT_(a, b) SKIFF_CONCAT_INNER_(a, b)

// Propagates the error of an expression returning Result<...>.
#define SKIFF_TRY(expr)                            \
  do {                                             \
    auto&& skiff_try_result_ = (expr);             \
    if (!skiff_try_result_) {                      \
      return std::move(skiff_try_result_).error(); \
    }                                              \
  } while (0)

// SKIFF_ASSIGN_OR_RETURN(auto x, expr): binds the value or propagates the error.
#define SKIFF_ASSIGN_OR_RETURN(lhs, expr) \
  SKIFF_ASSIGN_OR_RETURN_IMPL_(SKIFF_CONCAT_(skiff_aor_, __LINE__), lhs, expr)
#define SKIFF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp) return std::move(tmp).error();           \
  lhs = std::move(tmp).value()
