#include "core/weight_check.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/cpu/thread_pool.h"
#include "core/error.h"
#include "core/unsanitized.h"

namespace moescope {

namespace {

// Elements per unit of parallel work: big enough to amortise scheduling, small enough that one
// large embedding table is shared among the threads.
constexpr int64_t kChunkElements = int64_t{1} << 20;

struct Chunk {
  const TensorView* view = nullptr;
  int64_t first = 0;  // element range [first, first + count)
  int64_t count = 0;
};

enum class Bad : uint8_t { none, nan, inf };

struct Finding {
  Bad kind = Bad::none;
  int64_t element = 0;
};

// Non-finite values are recognised from the bit pattern (all exponent bits set), so no conversion
// is needed and every encoding of NaN counts.
template <typename Bits>
MOESCOPE_UNSANITIZED_HOT_LOOP Finding scan_ieee(const std::byte* data, int64_t first, int64_t count, Bits exponent_mask, Bits mantissa_mask) {
  for (int64_t i = first; i < first + count; ++i) {
    Bits bits;
    std::memcpy(&bits, data + i * static_cast<int64_t>(sizeof(Bits)), sizeof(Bits));
    if ((bits & exponent_mask) == exponent_mask) return {(bits & mantissa_mask) ? Bad::nan : Bad::inf, i};
  }
  return {};
}

Finding scan(const Chunk& chunk) {
  const std::byte* data = chunk.view->data;
  switch (chunk.view->dtype()) {
    case DType::bf16: return scan_ieee<uint16_t>(data, chunk.first, chunk.count, 0x7f80, 0x007f);
    case DType::f16: return scan_ieee<uint16_t>(data, chunk.first, chunk.count, 0x7c00, 0x03ff);
    case DType::f32: return scan_ieee<uint32_t>(data, chunk.first, chunk.count, 0x7f800000u, 0x007fffffu);
    case DType::f8_e4m3:
      // E4M3FN has no infinities; S.1111.111 is its only NaN.
      for (int64_t i = chunk.first; i < chunk.first + chunk.count; ++i)
        if ((static_cast<uint8_t>(data[i]) & 0x7f) == 0x7f) return {Bad::nan, i};
      return {};
    case DType::i32:
    case DType::i64: return {};
  }
  return {};
}

}  // namespace

void check_weights_finite(const Checkpoint& checkpoint) {
  std::vector<const TensorView*> views;
  views.reserve(checkpoint.tensors.size());
  for (const auto& [name, view] : checkpoint.tensors) views.push_back(&view);
  std::sort(views.begin(), views.end(), [](const TensorView* a, const TensorView* b) { return a->name() < b->name(); });

  std::vector<Chunk> chunks;
  for (const TensorView* view : views)
    for (int64_t first = 0; first < view->numel(); first += kChunkElements)
      chunks.push_back({view, first, std::min(kChunkElements, view->numel() - first)});

  std::vector<Finding> findings(chunks.size());  // (chunks) each written by exactly one thread
  ThreadPool pool(0);
  pool.parallel_for(static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) findings[static_cast<size_t>(c)] = scan(chunks[static_cast<size_t>(c)]);
  });

  // Chunks are in tensor-name then element order: the first finding is the one reported.
  const Chunk* first_chunk = nullptr;
  const Finding* first = nullptr;
  int64_t bad_tensors = 0;
  const TensorView* last_bad = nullptr;
  for (size_t c = 0; c < chunks.size(); ++c) {
    if (findings[c].kind == Bad::none) continue;
    if (!first) {
      first = &findings[c];
      first_chunk = &chunks[c];
    }
    if (chunks[c].view != last_bad) ++bad_tensors;
    last_bad = chunks[c].view;
  }
  if (!first) return;
  const TensorView& view = *first_chunk->view;
  fail_input(*view.file + ": tensor '" + view.name() + "' holds " + (first->kind == Bad::nan ? "NaN" : "Inf") +
             " at element " + std::to_string(first->element) + " of " + std::to_string(view.numel()) + " (" +
             std::to_string(bad_tensors) + (bad_tensors == 1 ? " tensor holds" : " tensors hold") + " NaN or Inf)");
}

}  // namespace moescope
