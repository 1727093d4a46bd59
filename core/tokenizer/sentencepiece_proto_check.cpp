#include "core/tokenizer/sentencepiece_proto_check.h"

#include <cstdint>
#include <optional>

#include "core/error.h"

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

}  // namespace

void check_sentencepiece_pieces(std::string_view model_bytes, const std::string& file_label) {
  Reader model{model_bytes};
  int64_t index = 0;
  while (!model.done()) {
    const auto field = model.field();
    if (!field) return;  // not well formed: libsentencepiece refuses it with its own message
    if (field->number != kPiecesField || field->wire_type != kLengthDelimited) continue;
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
