// The CUDA engine: core/engine.h's Engine on one NVIDIA GPU, for every supported family (Mixtral,
// Qwen3-MoE, DeepSeek-MoE v1, DeepSeek V2/V3 with MLA). bf16 weights and activations, fp32
// accumulation and residual stream; routing, dispatch, expert GEMMs and combine on the GPU; the
// same observer events as the CPU engine.
//
// The app selects it with `--backend cuda` through make_cuda_engine (guarded by MOESCOPE_HAVE_CUDA).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/engine.h"
#include "core/model_config.h"

namespace moescope {

struct Model;

// Called while weights stream to the GPU with (bytes done, bytes total).
using CudaLoadProgress = std::function<void(int64_t, int64_t)>;

// Throws ResourceError "no CUDA GPU: <CUDA's message>" without a usable GPU, and a ResourceError
// naming the bytes needed and free when the model does not fit (EngineOptions::memory_cap_bytes
// lowers the free figure, so this is testable).
std::unique_ptr<Engine> make_cuda_engine(const Model& model, const EngineOptions& options,
                                         const CudaLoadProgress& progress = {});

// An engine over random weights of `config`'s shapes generated on the GPU (moescope bench).
std::unique_ptr<Engine> make_synthetic_cuda_engine(const ModelConfig& config, const EngineOptions& options,
                                                   uint64_t seed = 1);

// Bytes of device memory the weights of `config` take in the CUDA engine's layout (`fp8`: with
// EngineOptions::fp8_weights), and one routed expert's share of them.
int64_t cuda_weight_bytes(const ModelConfig& config, bool fp8 = false);
int64_t cuda_expert_bytes(const ModelConfig& config, bool fp8 = false);

// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB free)", or throws the same "no CUDA GPU" error.
std::string cuda_device_summary(int device = 0);

}  // namespace moescope
