// Fuzz target: a SentencePiece tokenizer.model (a protobuf, so the whole input is the file)
// loaded through load_tokenizer_file, as a checkpoint's is, and used.
#include "core/error.h"
#include "core/tokenizer.h"
#include "tests/fuzz/exercise_tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moescope;
  const auto path = fuzz::write_input("tokenizer.model", data, size);
  try {
    fuzz::exercise_tokenizer(*load_tokenizer_file(path));
  }
  MOESCOPE_FUZZ_EXPECTED_ERRORS
  return 0;
}
