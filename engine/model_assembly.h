// Builds a Model's layers from any source that can hand out fp32 tensors by
// their Hugging Face name; format readers only supply the fetch function.
#pragma once
#include "model.h"

#include <functional>
#include <string>
#include <vector>

namespace ap {

// Returns the tensor as row-major fp32 with exactly `shape`; throws ap::Error
// naming the file and tensor when it is missing or shaped differently.
using TensorFetch = std::function<std::vector<float>(const std::string& hf_name, const std::vector<int64_t>& shape)>;
// Does the source have this tensor at all (used for the optional lm_head).
using TensorProbe = std::function<bool(const std::string& hf_name)>;

// A weight matrix as a Linear holds it: fills out.dense (fp32) or out.dense16
// and out.dtype (16-bit sources kept as stored). Same errors as TensorFetch.
using MatrixFetch = std::function<void(const std::string& hf_name, const std::vector<int64_t>& shape, Linear& out)>;

// `matrix` may be empty: every matrix then comes from `fetch` as fp32.
void assemble_dense_model(Model& m, const TensorFetch& fetch, const TensorProbe& has, const ProgressFn& progress,
                          const MatrixFetch& matrix = {});

// Hugging Face names of the per-layer tensors.
std::string layer_tensor_name(int layer, const char* what);  // e.g. (3, "self_attn.q_proj") -> model.layers.3.self_attn.q_proj.weight

// "[rows, cols]" for error messages.
std::string shape_string(const std::vector<int64_t>& shape);

// Reports progress; throws ap::Error("<path>: loading cancelled") when the callback says stop.
void report_progress(const ProgressFn& p, double fraction, const std::string& stage, const std::string& path);

}  // namespace ap
