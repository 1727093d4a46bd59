// Fuzz target: a tokenizer.json loaded (through load_tokenizer_file, as a checkpoint's is) and
// used. The input is the file, optionally followed by a NUL byte and text to encode.
#include <cstring>
#include <string_view>

#include "core/error.h"
#include "core/tokenizer.h"
#include "tests/fuzz/exercise_tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moescope;
  const char* bytes = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(bytes, 0, size);
  const size_t file_size = nul ? static_cast<size_t>(static_cast<const char*>(nul) - bytes) : size;
  const auto path = fuzz::write_input("tokenizer.json", data, file_size);
  try {
    const auto tokenizer = load_tokenizer_file(path);
    if (nul) fuzz::encode_and_decode(*tokenizer, std::string_view(bytes + file_size + 1, size - file_size - 1));
    fuzz::exercise_tokenizer(*tokenizer);
  }
  MOESCOPE_FUZZ_EXPECTED_ERRORS
  return 0;
}
