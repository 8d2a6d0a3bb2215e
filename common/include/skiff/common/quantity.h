#pragma once

// Kubernetes resource quantities ("500m", "2Gi", "1e3", "0.5", "100Ki"), parsed and printed the
// way k8s.io/apimachinery/pkg/api/resource.Quantity (v0.32) does, so a value that goes through
// skiff prints exactly as it would through the API server or kubelet.
//
// Grammar (apimachinery quantity.go):
//   <quantity>     ::= <signedNumber><suffix>
//   <number>       ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//   <suffix>       ::= Ki | Mi | Gi | Ti | Pi | Ei                (BinarySI)
//                    | n | u | m | "" | k | M | G | T | P | E      (DecimalSI)
//                    | e<signedNumber> | E<signedNumber>          (DecimalExponent)
//
// Semantics mirrored from upstream:
// - The format (suffix family) of the input is remembered and used when printing.
// - Values are exact (no floating point). Precision below 1n is rounded away from zero
//   ("0.9n" -> "1n"); BinarySI values are capped at 2^63-1 ("9Ei" -> 9223372036854775807).
// - toString() prints the canonical form: no fractional digits, the largest suffix that loses no
//   precision ("1000m" -> "1", "1.5Gi" -> "1536Mi", "0.1" -> "100m"). A BinarySI value between
//   -1024 and 1024, or one that is not an integer, prints as DecimalSI. Like upstream, when the
//   parsed text already was in canonical form it is printed back verbatim ("+1" stays "+1").
// - value()/milliValue() round away from zero (ceil for positive values).
//
// Deliberate limits: a quantity holds at most 38 significant decimal digits and a decimal
// exponent that fits in int32; larger values (which upstream keeps in an arbitrary-precision
// inf.Dec) are rejected by parse() and reported as overflow by add()/sub(). A DecimalSI value
// whose canonical exponent has no SI suffix (above E) prints with an "e<exp>" suffix, as newer
// apimachinery does, instead of dropping the exponent as v0.32 did.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff {

class Quantity {
 public:
  enum class Format : std::uint8_t {
    DecimalExponent,  // 12e6
    BinarySI,         // 12Mi (12 * 2^20)
    DecimalSI,        // 12M  (12 * 10^6)
  };

  // Zero, DecimalSI (prints "0").
  Quantity() = default;

  // Parses `text` exactly as resource.ParseQuantity does. Errors carry upstream's wording:
  // "quantities must match the regular expression ...", "unable to parse quantity's suffix",
  // "unable to parse numeric part of quantity". No surrounding whitespace is accepted.
  static Result<Quantity> parse(std::string_view text);

  // resource.NewQuantity(value, format).
  static Quantity fromInt(std::int64_t value, Format format = Format::DecimalSI);
  // resource.NewMilliQuantity(milli, format): milli / 1000.
  static Quantity fromMilli(std::int64_t milli, Format format = Format::DecimalSI);
  // resource.NewScaledQuantity(value, scale): value * 10^scale (DecimalSI unless given).
  static Quantity fromScaled(std::int64_t value, std::int32_t scale,
                             Format format = Format::DecimalSI);

  // Canonical string (resource.Quantity.String()).
  std::string toString() const;

  // ceil(q) away from zero, saturated to the int64 range (upstream overflows silently).
  std::int64_t value() const { return scaledValue(0); }
  // ceil(q * 1000) away from zero, saturated.
  std::int64_t milliValue() const { return scaledValue(-3); }
  // ceil(q / 10^scale) away from zero, saturated: scaledValue(-9) is the value in nano units.
  std::int64_t scaledValue(std::int32_t scale) const;

  bool isZero() const { return mantissa_ == 0; }
  // -1, 0 or 1.
  int sign() const { return mantissa_ < 0 ? -1 : (mantissa_ > 0 ? 1 : 0); }
  Format format() const { return format_; }

  // -q, same format.
  Quantity negated() const;
  // q + y / q - y. When q is zero the result takes y's format (upstream Add/Sub). Fails with
  // ErrorCode::Invalid only when the exact result exceeds the representable range.
  Result<Quantity> add(const Quantity& y) const;
  Result<Quantity> sub(const Quantity& y) const;

  // Numeric comparison (format and spelling are ignored): -1, 0 or 1.
  int compare(const Quantity& y) const;
  friend bool operator==(const Quantity& a, const Quantity& b) { return a.compare(b) == 0; }
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
    int c = a.compare(b);
    return c < 0 ? std::strong_ordering::less
                 : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
  }

 private:
  __extension__ typedef __int128 Int128;

  Quantity(Int128 mantissa, std::int64_t exponent, Format format);
  static Result<Quantity> make(Int128 mantissa, std::int64_t exponent, Format format);

  // value = mantissa_ * 10^exponent_. Normalised: mantissa_ has no trailing decimal zero (0 has
  // exponent 0) and |mantissa_| < 10^38, so equal values have equal representations.
  Int128 mantissa_ = 0;
  std::int32_t exponent_ = 0;
  Format format_ = Format::DecimalSI;
  // The parsed text, kept only where upstream keeps it (it is already canonical).
  std::string text_;
};

}  // namespace skiff
