#include "skiff/common/quantity.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "big_dec.h"

// The parsing steps follow k8s.io/apimachinery/pkg/api/resource/quantity.go (v0.32):
// parseQuantityString scans the text, a fast path handles up to 18 significant digits in an
// int64, everything else goes through an exact decimal (inf.Dec upstream, BigDec here) that is
// rounded up to nano precision and, for BinarySI, capped at 2^63-1.

namespace skiff {
namespace {

using quantity_detail::BigDec;

__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

constexpr std::string_view kErrFormatWrong =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr std::string_view kErrNumeric = "unable to parse numeric part of quantity";
constexpr std::string_view kErrSuffix = "unable to parse quantity's suffix";

constexpr int kMaxDigits = 38;

constexpr UInt128 pow10u(int n) {
  UInt128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}
constexpr UInt128 kMantissaLimit = pow10u(kMaxDigits);  // |mantissa| < 10^38
constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinInt64 = std::numeric_limits<std::int64_t>::min();

UInt128 magnitude(Int128 v) { return v < 0 ? UInt128(0) - UInt128(v) : UInt128(v); }

int digitCount(UInt128 v) {
  int n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

std::string u128ToString(UInt128 v) {
  if (v == 0) return "0";
  char buf[48];
  int pos = sizeof buf;
  while (v > 0) {
    buf[--pos] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  }
  return std::string(buf + pos, sizeof buf - static_cast<std::size_t>(pos));
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// parseQuantityString: sign, numerator (leading zeros stripped), denominator, suffix.
struct Scanned {
  bool positive = true;
  std::string_view value;  // the numeric text including sign: "-1.5" of "-1.5Gi"
  std::string_view num;
  std::string_view denom;
  std::string_view suffix;
};

// The first index from `pos` on whose character is not `in` (str.size() when all are).
template <typename Pred>
std::size_t skipWhile(std::string_view str, std::size_t pos, Pred in) {
  while (pos < str.size() && in(str[pos])) ++pos;
  return pos;
}

std::optional<Scanned> scan(std::string_view str) {
  Scanned s;
  std::size_t pos = 0;
  const std::size_t end = str.size();
  if (pos < end) {
    if (str[0] == '-') {
      s.positive = false;
      ++pos;
    } else if (str[0] == '+') {
      ++pos;
    }
  }
  // Leading zeros.
  pos = skipWhile(str, pos, [](char c) { return c == '0'; });
  if (pos == end) {
    s.num = "0";
    s.value = s.num;
    return s;
  }
  // Numerator.
  std::size_t digits_end = skipWhile(str, pos, isDigit);
  s.num = str.substr(pos, digits_end - pos);
  if (digits_end == end) {
    s.value = str;
    return s;
  }
  pos = digits_end;
  if (s.num.empty()) s.num = "0";
  // Denominator ("1." and "1.G" are accepted, as upstream does).
  if (str[pos] == '.') {
    ++pos;
    digits_end = skipWhile(str, pos, isDigit);
    s.denom = str.substr(pos, digits_end - pos);
    if (digits_end == end) {
      s.value = str;
      return s;
    }
    pos = digits_end;
  }
  s.value = str.substr(0, pos);
  // Suffix: [eEinumkKMGTP]* [-+]? [0-9]*
  const std::size_t suffix_start = pos;
  constexpr std::string_view kSuffixChars = "eEinumkKMGTP";
  pos = skipWhile(str, pos, [&](char c) { return kSuffixChars.find(c) != std::string_view::npos; });
  if (pos < end && (str[pos] == '-' || str[pos] == '+')) ++pos;
  if (skipWhile(str, pos, isDigit) != end) return std::nullopt;
  s.suffix = str.substr(suffix_start);
  return s;
}

struct Suffix {
  int base;  // 10 or 2
  std::int32_t exponent;
  Quantity::Format format;
};

// Go's strconv.ParseInt(s, 10, 64): optional sign, digits, no overflow.
std::optional<std::int64_t> parseInt64(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  UInt128 v = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > UInt128(kMaxInt64) + 1) return std::nullopt;
  }
  if (!neg && v > UInt128(kMaxInt64)) return std::nullopt;
  return neg ? static_cast<std::int64_t>(-static_cast<Int128>(v)) : static_cast<std::int64_t>(v);
}

std::optional<Suffix> interpret(std::string_view s) {
  using F = Quantity::Format;
  struct Entry {
    std::string_view name;
    Suffix suffix;
  };
  static constexpr Entry kTable[] = {
      {"", {10, 0, F::DecimalSI}},   {"n", {10, -9, F::DecimalSI}}, {"u", {10, -6, F::DecimalSI}},
      {"m", {10, -3, F::DecimalSI}}, {"k", {10, 3, F::DecimalSI}},  {"M", {10, 6, F::DecimalSI}},
      {"G", {10, 9, F::DecimalSI}},  {"T", {10, 12, F::DecimalSI}}, {"P", {10, 15, F::DecimalSI}},
      {"E", {10, 18, F::DecimalSI}}, {"Ki", {2, 10, F::BinarySI}},  {"Mi", {2, 20, F::BinarySI}},
      {"Gi", {2, 30, F::BinarySI}},  {"Ti", {2, 40, F::BinarySI}},  {"Pi", {2, 50, F::BinarySI}},
      {"Ei", {2, 60, F::BinarySI}},
  };
  for (const auto& e : kTable) {
    if (e.name == s) return e.suffix;
  }
  if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E')) {
    auto v = parseInt64(s.substr(1));
    if (!v) return std::nullopt;
    // Upstream converts with int32(parsed); keep that (wrapping) conversion.
    return Suffix{10, static_cast<std::int32_t>(static_cast<std::uint32_t>(*v)),
                  F::DecimalExponent};
  }
  return std::nullopt;
}

bool hasDigit(std::string_view s) {
  for (char c : s) {
    if (isDigit(c)) return true;
  }
  return false;
}

std::string_view decimalSuffix(std::int64_t exponent) {
  switch (exponent) {
    case -9:
      return "n";
    case -6:
      return "u";
    case -3:
      return "m";
    case 0:
      return "";
    case 3:
      return "k";
    case 6:
      return "M";
    case 9:
      return "G";
    case 12:
      return "T";
    case 15:
      return "P";
    case 18:
      return "E";
    default:
      return "?";
  }
}

// The error of Quantity::parse(str).
Error parseError(std::string_view str, std::string_view why) {
  return Error(ErrorCode::Invalid,
               "parse quantity '" + std::string(str) + "': " + std::string(why));
}

// The fast path's result: the value (sign applied) as an int64 at a decimal scale.
struct FastValue {
  std::int64_t value;
  std::int64_t scale;
  bool canonical;  // the input text is already in canonical form
};

// Fast path: at most 18 digits in an int64 at a scale no finer than nano. nullopt when the
// quantity needs the slow path.
Result<std::optional<FastValue>> parseFast(std::string_view str, const Scanned& s,
                                           const Suffix& suffix) {
  using Format = Quantity::Format;
  Format format = suffix.format;
  std::int64_t precision = 0;
  std::int64_t scale = 0;
  std::int64_t multiplier = 1;
  const auto digits = static_cast<std::int64_t>(s.num.size() + s.denom.size());
  if (format == Format::BinarySI) {
    if (suffix.exponent >= 0 && s.denom.empty()) {
      multiplier = std::int64_t(1) << suffix.exponent;
      precision = 15 - static_cast<std::int64_t>(s.num.size()) - suffix.exponent * 3 / 10 - 1;
    } else {
      precision = -1;
    }
  } else {
    scale = suffix.exponent;
    precision = 18 - digits;
  }
  if (precision >= 0) {
    scale -= static_cast<std::int64_t>(s.denom.size());
    if (scale >= -9) {
      std::string shifted = std::string(s.num) + std::string(s.denom);
      auto parsed = parseInt64(shifted);
      if (!parsed) return parseError(str, kErrNumeric);
      std::int64_t result = 0;
      if (!__builtin_mul_overflow(*parsed, multiplier, &result)) {
        if (!s.positive) result = -result;
        // Upstream reuses the input text when it is already in canonical form.
        bool canonical = false;
        if (format == Format::BinarySI) {
          canonical = suffix.exponent % 10 == 0 && (*parsed & 0x07) != 0;
        } else {
          canonical = scale % 3 == 0 && !shifted.ends_with("000") && shifted[0] != '0';
        }
        return std::optional<FastValue>(FastValue{result, scale, canonical});
      }
    }
  }
  return std::optional<FastValue>();
}

// The slow path's result, for Quantity::make.
struct SlowValue {
  Int128 mantissa;
  std::int64_t exp10;
  Quantity::Format format;
};

// Slow path: exact decimal arithmetic.
Result<SlowValue> parseSlow(std::string_view str, const Scanned& s, const Suffix& suffix) {
  using Format = Quantity::Format;
  Format format = suffix.format;
  if (!hasDigit(s.value)) return parseError(str, kErrNumeric);
  BigDec n = BigDec::fromDigits(std::string(s.num) + std::string(s.denom));
  std::int64_t exp10 = -static_cast<std::int64_t>(s.denom.size());
  if (suffix.base == 10) {
    exp10 += suffix.exponent;
  } else {
    for (int i = 0; i < suffix.exponent / 10; ++i) n.mulSmall(1024);
  }
  // Round a non-zero value up (away from zero) to nano precision: "if you want some resources,
  // you should get some resources".
  if (exp10 < -9) {
    bool fraction = false;
    for (std::int64_t i = 0; i < -9 - exp10 && !n.isZero(); ++i) {
      if (n.divSmall(10) != 0) fraction = true;
    }
    if (fraction) n.addSmall(1);
    exp10 = -9;
  }
  Int128 mantissa = 0;
  if (format == Format::BinarySI) {
    // exp10 is in [-9, 0] here: binary suffixes carry no decimal exponent.
    const UInt128 cap = UInt128(kMaxInt64) * pow10u(static_cast<int>(-exp10));
    auto v = n.toU128(kMantissaLimit);
    if (!v || *v > cap) {
      mantissa = kMaxInt64;
      exp10 = 0;
    } else {
      mantissa = static_cast<Int128>(*v);
      if (*v != 0 && *v < pow10u(static_cast<int>(-exp10))) format = Format::DecimalSI;
    }
  } else {
    while (!n.isZero() && n.mod10() == 0) {
      (void)n.divSmall(10);
      ++exp10;
    }
    auto v = n.toU128(kMantissaLimit);
    if (!v) return parseError(str, "more than 38 significant digits are not supported");
    mantissa = static_cast<Int128>(*v);
  }
  if (!s.positive) mantissa = -mantissa;
  return SlowValue{mantissa, exp10, format};
}

}  // namespace

Quantity::Quantity(Int128 mantissa, std::int64_t exponent, Format format)
    : mantissa_(mantissa), exponent_(static_cast<std::int32_t>(exponent)), format_(format) {}

Result<Quantity> Quantity::make(Int128 mantissa, std::int64_t exponent, Format format) {
  if (mantissa == 0) return Quantity(0, 0, format);
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  if (magnitude(mantissa) >= kMantissaLimit) {
    return Error(ErrorCode::Invalid, "quantity has more than 38 significant digits");
  }
  if (exponent < std::numeric_limits<std::int32_t>::min() ||
      exponent > std::numeric_limits<std::int32_t>::max()) {
    return Error(ErrorCode::Invalid, "quantity exponent out of range");
  }
  return Quantity(mantissa, exponent, format);
}

Result<Quantity> Quantity::parse(std::string_view str) {
  auto fail = [&](std::string_view why) { return parseError(str, why); };
  if (str.empty()) return fail(kErrFormatWrong);
  if (str == "0") {
    Quantity q;
    q.text_ = "0";
    return q;
  }
  auto scanned = scan(str);
  if (!scanned) return fail(kErrFormatWrong);
  const Scanned& s = *scanned;
  auto suffix = interpret(s.suffix);
  if (!suffix) return fail(kErrSuffix);
  Format format = suffix->format;

  SKIFF_ASSIGN_OR_RETURN(std::optional<FastValue> fast, parseFast(str, s, *suffix));
  if (fast) {
    SKIFF_ASSIGN_OR_RETURN(Quantity q, make(fast->value, fast->scale, format));
    if (fast->canonical) q.text_ = std::string(str);
    return q;
  }

  SKIFF_ASSIGN_OR_RETURN(SlowValue slow, parseSlow(str, s, *suffix));
  auto q = make(slow.mantissa, slow.exp10, slow.format);
  if (!q) return fail(q.error().message());
  return q;
}

Quantity Quantity::fromInt(std::int64_t value, Format format) {
  return std::move(make(value, 0, format)).value();
}

Quantity Quantity::fromMilli(std::int64_t milli, Format format) {
  return std::move(make(milli, -3, format)).value();
}

Quantity Quantity::fromScaled(std::int64_t value, std::int32_t scale, Format format) {
  return std::move(make(value, scale, format)).value();
}

std::string Quantity::toString() const {
  if (!text_.empty()) return text_;
  if (mantissa_ == 0) return "0";
  const bool negative = mantissa_ < 0;
  const UInt128 mag = magnitude(mantissa_);
  Format format = format_;

  if (format == Format::BinarySI) {
    // Between -1024 and 1024, or not an integer: DecimalSI, so no precision is lost.
    std::optional<UInt128> integer;
    if (exponent_ >= 0 && exponent_ <= kMaxDigits) {
      UInt128 v = mag;
      bool overflow = false;
      for (int i = 0; i < exponent_ && !overflow; ++i) {
        if (v > (~UInt128(0)) / 10) overflow = true;
        v *= 10;
      }
      if (!overflow) integer = v;
    }
    if (!integer || *integer < 1024) {
      format = Format::DecimalSI;
    } else {
      UInt128 v = *integer;
      int times = 0;
      while (times < 6 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        ++times;
      }
      static constexpr std::string_view kBinary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
      return (negative ? "-" : "") + u128ToString(v) + std::string(kBinary[times]);
    }
  }

  // Decimal: the exponent is lowered to a multiple of three.
  std::string number = (negative ? "-" : "") + u128ToString(mag);
  std::int64_t exponent = exponent_;
  switch (exponent % 3) {
    case 1:
    case -2:
      number += "0";
      exponent -= 1;
      break;
    case 2:
    case -1:
      number += "00";
      exponent -= 2;
      break;
    default:
      break;
  }
  if (format == Format::DecimalSI) {
    std::string_view suffix = decimalSuffix(exponent);
    if (suffix != "?") return number + std::string(suffix);
  }
  if (exponent == 0) return number;
  return number + "e" + std::to_string(exponent);
}

std::int64_t Quantity::scaledValue(std::int32_t scale) const {
  if (mantissa_ == 0) return 0;
  const bool negative = mantissa_ < 0;
  const std::int64_t d = std::int64_t(exponent_) - scale;
  const UInt128 limit = negative ? UInt128(kMaxInt64) + 1 : UInt128(kMaxInt64);
  UInt128 mag = magnitude(mantissa_);
  if (d >= 0) {
    for (std::int64_t i = 0; i < d; ++i) {
      if (mag > limit / 10) return negative ? kMinInt64 : kMaxInt64;
      mag *= 10;
    }
  } else if (-d > kMaxDigits) {
    mag = 1;  // |value| < 1 at this scale: rounded away from zero
  } else {
    const UInt128 div = pow10u(static_cast<int>(-d));
    const bool fraction = mag % div != 0;
    mag /= div;
    if (fraction) ++mag;
  }
  if (mag > limit) return negative ? kMinInt64 : kMaxInt64;
  return negative ? static_cast<std::int64_t>(-static_cast<Int128>(mag))
                  : static_cast<std::int64_t>(mag);
}

Quantity Quantity::negated() const { return Quantity(-mantissa_, exponent_, format_); }

int Quantity::compare(const Quantity& y) const {
  const int sa = sign();
  const int sb = y.sign();
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  // Same sign: compare magnitudes, then flip for negatives.
  const UInt128 ma = magnitude(mantissa_);
  const UInt128 mb = magnitude(y.mantissa_);
  const std::int64_t oa = digitCount(ma) + std::int64_t(exponent_);
  const std::int64_t ob = digitCount(mb) + std::int64_t(y.exponent_);
  int c = 0;
  if (oa != ob) {
    c = oa < ob ? -1 : 1;
  } else {
    // Same order of magnitude: aligning the exponents keeps both below 10^38.
    UInt128 a = ma;
    UInt128 b = mb;
    if (exponent_ > y.exponent_) a *= pow10u(exponent_ - y.exponent_);
    if (y.exponent_ > exponent_) b *= pow10u(y.exponent_ - exponent_);
    c = a < b ? -1 : (a > b ? 1 : 0);
  }
  return sa < 0 ? -c : c;
}

Result<Quantity> Quantity::add(const Quantity& y) const {
  if (isZero()) return Quantity(y.mantissa_, y.exponent_, y.format_);
  if (y.isZero()) return Quantity(mantissa_, exponent_, format_);
  const std::int64_t e = std::min(exponent_, y.exponent_);
  auto scaleUp = [](Int128 m, std::int64_t by, Int128* out) {
    if (by > kMaxDigits) return false;
    return !__builtin_mul_overflow(m, static_cast<Int128>(pow10u(static_cast<int>(by))), out);
  };
  Int128 a = 0;
  Int128 b = 0;
  Int128 sum = 0;
  if (!scaleUp(mantissa_, exponent_ - e, &a) || !scaleUp(y.mantissa_, y.exponent_ - e, &b) ||
      __builtin_add_overflow(a, b, &sum)) {
    return Error(ErrorCode::Invalid, "add quantities '" + toString() + "' and '" + y.toString() +
                                         "': result out of range");
  }
  auto r = make(sum, e, format_);
  if (!r) {
    return Error(ErrorCode::Invalid, "add quantities '" + toString() + "' and '" + y.toString() +
                                         "': " + r.error().message());
  }
  return r;
}

Result<Quantity> Quantity::sub(const Quantity& y) const {
  if (isZero()) return Quantity(-y.mantissa_, y.exponent_, y.format_);
  return add(y.negated());
}

}  // namespace skiff
