#include "tests/support/checkpoint_edit.h"

#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/safetensors.h"

namespace moescope::test {

void set_bf16_element(const std::filesystem::path& file, const std::string& tensor, size_t element,
                      uint16_t bf16_bits) {
  std::vector<OutputTensor> tensors;
  bool found = false;
  {
    // Everything is copied out before the file is rewritten: the views point into its mapping.
    auto mapped = open_safetensors(file);
    for (size_t i = 0; i < mapped->header.tensors.size(); ++i) {
      auto view = mapped->view(i);
      OutputTensor copy{view.name(), view.dtype(), view.shape(), {}};
      copy.bytes.assign(view.data, view.data + view.nbytes());
      if (view.name() == tensor) {
        if (view.dtype() != DType::bf16 || 2 * (element + 1) > copy.bytes.size())
          throw std::logic_error("set_bf16_element: '" + tensor + "' is not bf16 or has no element " +
                                 std::to_string(element));
        std::memcpy(copy.bytes.data() + 2 * element, &bf16_bits, 2);
        found = true;
      }
      tensors.push_back(std::move(copy));
    }
  }
  if (!found) throw std::logic_error("set_bf16_element: no tensor '" + tensor + "' in " + file.string());
  std::filesystem::permissions(file, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  write_safetensors(file, tensors);
}

}  // namespace moescope::test
