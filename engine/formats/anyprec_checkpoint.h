// Our any-precision checkpoint: one safetensors file that carries quantized
// matrices (bitplanes + affine-int8 tables per width), every unquantized
// tensor, and in "__metadata__" the model config, tokenizer, chat template
// and quantization provenance. Self-contained: loads without the source.
//
// Tensors (Hugging Face names):
//   <name>.planes          U32 [parent_bits, rows, words]
//   <name>.lut<b>          I8  [rows, 2^b]     for b = seed..parent
//   <name>.lut<b>.affine   F32 [rows, 2]       {scale, offset}
//   <dense name>           F32 (1-D tensors) or F16 (matrices)
// Metadata keys: "format" = "anyprec", "format_version" = "1", "config"
// (JSON), "tokenizer" (JSON), "chat_template", "quant" (JSON: seed_bits,
// parent_bits, method, sensitivity, source_file, source_sha256, calib_file,
// calib_sha256, calib_tokens, tool_version, created), "shapes" (JSON:
// {name: [rows, cols]} for every quantized matrix).
#pragma once
#include "ap_weight.h"
#include "model.h"
#include "model_config.h"
#include "tokenizer.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ap {

struct CheckpointContents {
    ModelConfig cfg;
    TokenizerData tokenizer;
    std::string chat_template;
    QuantInfo quant;
    std::string created;  // ISO 8601 UTC; write_checkpoint stamps the current time when empty
    std::map<std::string, std::vector<float>> dense;            // name -> fp32 data
    std::map<std::string, std::vector<int64_t>> dense_shapes;   // name -> shape (row-major)
    std::map<std::string, std::shared_ptr<ApWeight>> quantized; // name -> matrix
};

bool is_anyprec_checkpoint(const std::string& path);  // safetensors with format=anyprec
// Throws ap::Error naming the file: missing keys, wrong shapes, bad version...
CheckpointContents read_checkpoint(const std::string& path);
// Writes a temporary next to path then renames; on failure (e.g. disk full)
// throws ap::Error naming the path and leaves nothing behind; a set cancel
// flag throws ap::Cancelled, also leaving nothing behind.
void write_checkpoint(const std::string& path, const CheckpointContents& c, const std::atomic<bool>* cancel = nullptr);

}  // namespace ap
