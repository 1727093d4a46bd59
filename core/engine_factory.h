// Choosing a backend. The CPU engine is always here; the CUDA engine lives in gpu/, which core may
// not include, so the app registers it at start-up when the build has it.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "core/engine.h"

namespace moescope {

using EngineFactory = std::function<std::unique_ptr<Engine>(const Model&, const EngineOptions&)>;

void register_cuda_engine_factory(EngineFactory factory);
bool cuda_engine_available();  // built with CUDA (a GPU may still be missing at run time)

// The engine of options.backend; a CUDA request in a build without CUDA is a ResourceError.
std::unique_ptr<Engine> create_engine(const Model& model, const EngineOptions& options);

// "cpu" or "cuda"; anything else is an InputError naming the value.
Backend parse_backend(std::string_view name);

}  // namespace moescope
