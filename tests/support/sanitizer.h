// Whether this test binary is built with AddressSanitizer or ThreadSanitizer. Both replace the
// allocator and hold on to freed memory (ASan's quarantine is 256 MiB by default; TSan delays
// reuse and adds shadow memory), so a resident set grows by design there: memory-flatness bounds
// are only checked in other builds, and LeakSanitizer checks for leaks in the ASan build instead.
#pragma once

namespace moescope::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerAllocator = true;
#else
inline constexpr bool kSanitizerAllocator = false;
#endif
#else
inline constexpr bool kSanitizerAllocator = false;
#endif

}  // namespace moescope::test
