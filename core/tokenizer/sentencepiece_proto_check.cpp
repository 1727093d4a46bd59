#include "core/tokenizer/sentencepiece_proto_check.h"

#include <cstdint>
#include <optional>

#include "core/error.h"
#include "core/tokenizer/sentencepiece_charsmap_check.h"

namespace moescope {

namespace {

// Protobuf wire format: each field is a varint key (field number << 3 | wire type) and a value.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct Reader {
  std::string_view bytes;
  size_t at = 0;

  bool done() const { return at == bytes.size(); }

  std::optional<uint64_t> varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && at < bytes.size(); shift += 7) {
      const auto byte = static_cast<uint8_t>(bytes[at++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    return std::nullopt;
  }

  // Skips or returns one field's value; nullopt when the bytes are not well formed.
  struct Field {
    uint32_t number = 0;
    uint32_t wire_type = 0;
    std::string_view payload;  // length-delimited fields only
  };
  std::optional<Field> field() {
    const auto key = varint();
    if (!key) return std::nullopt;
    Field f{static_cast<uint32_t>(*key >> 3), static_cast<uint32_t>(*key & 7), {}};
    switch (f.wire_type) {
      case kVarint:
        if (!varint()) return std::nullopt;
        return f;
      case kFixed64:
      case kFixed32: {
        const size_t n = f.wire_type == kFixed64 ? 8 : 4;
        if (bytes.size() - at < n) return std::nullopt;
        at += n;
        return f;
      }
      case kLengthDelimited: {
        const auto length = varint();
        if (!length || *length > bytes.size() - at) return std::nullopt;
        f.payload = bytes.substr(at, static_cast<size_t>(*length));
        at += static_cast<size_t>(*length);
        return f;
      }
      default: return std::nullopt;  // groups (deprecated) and invalid wire types
    }
  }
};

// ModelProto.pieces is field 1; SentencePiece.piece is field 1 of each (the last one wins, as in
// protobuf, and a missing one means "").
constexpr uint32_t kPiecesField = 1;
constexpr uint32_t kPieceTextField = 1;
// ModelProto.normalizer_spec is field 3 and denormalizer_spec field 5 (Decode uses the latter);
// NormalizerSpec.precompiled_charsmap is field 2. A message repeated on the wire is merged by
// protobuf, so every occurrence is checked, which covers the one that wins.
constexpr uint32_t kNormalizerSpecField = 3;
constexpr uint32_t kDenormalizerSpecField = 5;
constexpr uint32_t kPrecompiledCharsmapField = 2;

void check_normalizer_spec(std::string_view spec_bytes, const char* spec_name, const std::string& file_label) {
  Reader spec{spec_bytes};
  while (!spec.done()) {
    const auto field = spec.field();
    if (!field) return;
    if (field->number != kPrecompiledCharsmapField || field->wire_type != kLengthDelimited) continue;
    if (field->payload.empty()) continue;  // no charsmap: no normalization rules
    if (const auto defect = charsmap_defect(field->payload))
      fail_input(file_label + ": SentencePiece model's " + spec_name + " precompiled_charsmap is malformed: " + *defect);
  }
}

}  // namespace

void check_sentencepiece_model(std::string_view model_bytes, const std::string& file_label) {
  Reader model{model_bytes};
  int64_t index = 0;
  while (!model.done()) {
    const auto field = model.field();
    if (!field) return;  // not well formed: libsentencepiece refuses it with its own message
    if (field->wire_type != kLengthDelimited) continue;
    if (field->number == kNormalizerSpecField) check_normalizer_spec(field->payload, "normalizer", file_label);
    if (field->number == kDenormalizerSpecField) check_normalizer_spec(field->payload, "denormalizer", file_label);
    if (field->number != kPiecesField) continue;
    Reader piece{field->payload};
    std::string_view text;
    while (!piece.done()) {
      const auto inner = piece.field();
      if (!inner) return;
      if (inner->number == kPieceTextField && inner->wire_type == kLengthDelimited) text = inner->payload;
    }
    if (text.empty()) fail_input(file_label + ": SentencePiece model piece " + std::to_string(index) + " is empty");
    if (text.find('\0') != std::string_view::npos)
      fail_input(file_label + ": SentencePiece model piece " + std::to_string(index) + " holds a NUL byte");
    ++index;
  }
}

}  // namespace moescope
