// Whether this test binary is built with AddressSanitizer. ASan keeps freed memory in quarantine
// (256 MiB by default), so a resident set grows by design there: memory-flatness bounds are only
// checked in other builds, and LeakSanitizer checks for leaks in the ASan build instead.
#pragma once

namespace moescope::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace moescope::test
