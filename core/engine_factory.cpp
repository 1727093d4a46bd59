#include "core/engine_factory.h"

#include <string>

#include "core/error.h"

namespace moescope {

namespace {

EngineFactory& cuda_factory() {
  static EngineFactory factory;
  return factory;
}

}  // namespace

void register_cuda_engine_factory(EngineFactory factory) { cuda_factory() = std::move(factory); }
bool cuda_engine_available() { return static_cast<bool>(cuda_factory()); }

std::unique_ptr<Engine> create_engine(const Model& model, const EngineOptions& options) {
  if (options.routing_override && (options.ep_degree > 1 || options.enforce_capacity_factor > 0))
    fail_input("a forced routing (replay --apply) decides drops itself and runs without expert parallelism: "
               "drop --ep-degree and --enforce-capacity");
  if (options.backend == Backend::cpu) return make_cpu_engine(model, options);
  // The CUDA engine routes in its own kernels and has no override path yet.
  if (options.routing_override)
    fail_input("a forced routing (replay --apply) runs on the CPU engine only: use --backend cpu");
  if (!cuda_factory())
    throw ResourceError("no CUDA engine in this build: it was configured without a CUDA compiler (nvcc); use --backend cpu");
  return cuda_factory()(model, options);
}

Backend parse_backend(std::string_view name) {
  if (name == "cpu") return Backend::cpu;
  if (name == "cuda") return Backend::cuda;
  fail_input("unknown backend \"" + std::string(name) + "\" (expected cpu or cuda)");
}

}  // namespace moescope
