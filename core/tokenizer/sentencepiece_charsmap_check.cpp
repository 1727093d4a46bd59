#include "core/tokenizer/sentencepiece_charsmap_check.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace moescope {

namespace {

// One 32-bit unit of a Darts-clone double array, decoded as darts.h decodes it. A unit's label
// keeps bit 31 (set on value units), so a value unit never matches an input byte.
struct DartsUnit {
  uint32_t bits = 0;
  bool has_leaf() const { return ((bits >> 8) & 1) == 1; }
  uint32_t value() const { return bits & 0x7fffffffu; }
  uint32_t label() const { return bits & (0x80000000u | 0xffu); }
  uint32_t offset() const { return (bits >> 10) << ((bits & (1u << 9)) >> 6); }
};

struct Trie {
  std::string_view bytes;
  size_t units() const { return bytes.size() / sizeof(uint32_t); }
  DartsUnit at(size_t index) const {
    DartsUnit unit;
    // The blob is little-endian, as the hosts this builds for.
    std::memcpy(&unit.bits, bytes.data() + index * sizeof(uint32_t), sizeof(uint32_t));
    return unit;
  }
};

}  // namespace

std::optional<std::string> charsmap_defect(std::string_view blob) {
  // The walk below costs up to 256 steps per trie unit, so a hostile blob's size bounds the load
  // time: 16 MiB is at most ~1 G steps, and real charsmaps (nmt_nfkc) are about 250 KB.
  constexpr size_t kMaxBlobBytes = size_t{16} << 20;
  if (blob.size() > kMaxBlobBytes)
    return std::to_string(blob.size()) + " bytes, more than the " + std::to_string(kMaxBlobBytes) +
           " this checks (real ones are about 250 KB)";
  if (blob.size() <= sizeof(uint32_t)) return "shorter than its 4-byte trie size";
  uint32_t trie_bytes = 0;
  std::memcpy(&trie_bytes, blob.data(), sizeof(trie_bytes));
  if (trie_bytes > blob.size() - sizeof(uint32_t))
    return "its trie size " + std::to_string(trie_bytes) + " exceeds the " +
           std::to_string(blob.size() - sizeof(uint32_t)) + " bytes that follow";
  const Trie trie{blob.substr(sizeof(uint32_t), trie_bytes)};
  const std::string_view pool = blob.substr(sizeof(uint32_t) + trie_bytes);
  const size_t units = trie.units();
  if (units == 0) return "its trie is empty";
  // A replacement string is NUL-terminated inside the pool iff a NUL lies at or after its start.
  const size_t last_nul = pool.rfind('\0');

  // commonPrefixSearch starts at base = root.offset(); for each input byte it reads unit
  // base ^ byte, and when that unit's label is the byte, moves to base' = child ^ child.offset()
  // and, if the child has a leaf, reads unit base' as the offset of a NUL-terminated string in
  // the pool. Input bytes are arbitrary, so every base reached must keep all 256 children in the
  // array. A base is visited once, which also ends cycles in a hostile array.
  std::vector<bool> visited(units, false);
  std::vector<uint32_t> bases{trie.at(0).offset()};
  while (!bases.empty()) {
    const uint32_t base = bases.back();
    bases.pop_back();
    if ((static_cast<size_t>(base) | 0xffu) >= units)
      return "a trie node's children at unit " + std::to_string(base) + " lie past the trie's " +
             std::to_string(units) + " units";
    if (visited[base]) continue;
    visited[base] = true;
    for (uint32_t byte = 0; byte < 256; ++byte) {
      const uint32_t child = base ^ byte;
      const DartsUnit unit = trie.at(child);
      if (unit.label() != byte) continue;
      const uint32_t next = child ^ unit.offset();
      if (unit.has_leaf()) {
        if (next >= units)
          return "a rule's value at unit " + std::to_string(next) + " lies past the trie's " +
                 std::to_string(units) + " units";
        const uint32_t string_at = trie.at(next).value();
        if (last_nul == std::string_view::npos || string_at > last_nul)
          return "a rule's replacement at byte " + std::to_string(string_at) +
                 " is not a NUL-terminated string inside the " + std::to_string(pool.size()) + "-byte pool";
      }
      bases.push_back(next);
    }
  }
  return std::nullopt;
}

}  // namespace moescope
