#pragma once

// The one way skiff includes ldns. Its common.h defines `bool`, `true` and `false` as macros
// unless __bool_true_false_are_defined is set; with them, `true` is the int 1 in every file that
// includes ldns, and nlohmann::json stores it as a number (a test's publishNotReadyAddresses: 1).
// <stdbool.h> sets the guard in C++ without defining any macro.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers): for its guard, see above

#include <ldns/ldns.h>
