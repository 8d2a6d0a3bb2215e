#pragma once

// Programming errors are bugs, not Errors (STYLE.md §4): SKIFF_CHECK always aborts with the
// location; SKIFF_ASSERT only in debug builds.
namespace skiff::detail {
[[noreturn]] void checkFailed(const char* expr, const char* msg, const char* file, int line);
}

#define SKIFF_CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::skiff::detail::checkFailed(#cond, msg, __FILE__, __LINE__))
#define SKIFF_CHECK(cond) SKIFF_CHECK_MSG(cond, "")
#ifdef NDEBUG
#define SKIFF_ASSERT(cond) ((void)0)
#else
#define SKIFF_ASSERT(cond) SKIFF_CHECK(cond)
#endif
