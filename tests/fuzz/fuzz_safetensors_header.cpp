// Fuzz target: parse_safetensors_header over arbitrary bytes (a whole .safetensors file). Beyond not
// crashing, what it accepts must keep the header's promises: tensors in data order tiling the data
// section exactly, byte lengths equal to element count x dtype size.
#include <span>

#include "core/error.h"
#include "core/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moescope;
  try {
    const auto header = parse_safetensors_header(std::as_bytes(std::span(data, size)), "fuzz.safetensors");
    if (header.data_offset < 8 || static_cast<size_t>(header.data_offset) > size) fuzz::violated("data_offset outside the file");
    int64_t expected_begin = 0;
    for (const auto& t : header.tensors) {
      if (t.data_begin != expected_begin) fuzz::violated("tensors do not tile the data section");
      if (t.data_end - t.data_begin != t.numel() * dtype_size_bytes(t.dtype)) fuzz::violated("byte length != numel x dtype size");
      expected_begin = t.data_end;
    }
    if (header.data_offset + expected_begin != static_cast<int64_t>(size)) fuzz::violated("data section not covered exactly");
  }
  MOESCOPE_FUZZ_EXPECTED_ERRORS
  return 0;
}
