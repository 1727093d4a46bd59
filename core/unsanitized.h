#pragma once
// Marks the few numeric inner loops that sanitizer builds leave uninstrumented. Per-element checks
// stop them vectorising: with them the ASan+UBSan CPU engine ran ~50x slower than release (7 s of
// CPU for one demo prompt against 0.13 s), which kept the sanitizer stages to a few prompts. Each
// marked loop only reads buffers its caller sized (or mapped weight data, which ASan cannot guard);
// everything around them stays instrumented. TSan keeps them: its stage runs few tokens.
#if defined(__clang__)
#define MOESCOPE_UNSANITIZED_HOT_LOOP __attribute__((no_sanitize("address", "undefined", "coverage")))
#else
#define MOESCOPE_UNSANITIZED_HOT_LOOP
#endif
