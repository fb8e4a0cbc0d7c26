// What differs between the architectures we run (llama/mistral, qwen2,
// qwen3, phi3, gemma2, gemma3): reading their options from a Hugging Face
// config.json or GGUF metadata into ModelConfig, and the tensor names each
// source uses. The forward pass only looks at ModelConfig's feature fields.
//
// Tensors are named inside the engine (and in our checkpoints) by their
// Hugging Face Llama names ("canonical" names); two exceptions extend them:
//   model.layers.<i>.post_attn_out_norm.weight   norm of the attention output (gemma)
//   model.layers.<i>.self_attn.qkv_proj.weight   fused source tensors (phi3), split into
//   model.layers.<i>.mlp.gate_up_proj.weight     q/k/v and gate/up on load
#pragma once
#include "model_config.h"

#include <string>

namespace ap {

class GgufFile;

// "llama, mistral, qwen2, ..." for error messages.
extern const char* const kSupportedArchs;

// "unsupported architecture 'NAME' (supported: ...)", with a hint where one helps.
std::string unsupported_arch_message(const std::string& name);
// Is this one of our arch names (as stored in checkpoints)?
bool arch_known(const std::string& arch);
// Our arch name for a config.json model_type ("" when unsupported).
std::string arch_from_hf_model_type(const std::string& model_type);
// Our arch name for a GGUF general.architecture ("" when unsupported).
std::string arch_from_gguf(const std::string& gguf_arch);

// config.json text of the language model inside a vision-language checkpoint
// (Gemma3ForConditionalGeneration: its text_config, Gemma 3's defaults filled
// in where the file leaves them out); other configs unchanged.
std::string language_model_config(const std::string& config_json);
// The tensor-name prefix of such a checkpoint's language model ("" otherwise).
std::string language_model_prefix(const std::string& config_json);

// Fills the per-architecture fields of `c` (c.arch set) from config.json
// text; throws ap::Error naming `source` for options we cannot run.
void apply_hf_arch_options(ModelConfig& c, const std::string& config_json, const std::string& source);
// The same from GGUF metadata (`gguf_arch` = general.architecture).
void apply_gguf_arch_options(ModelConfig& c, const GgufFile& f, const std::string& gguf_arch);

// The source file's name for a canonical tensor name.
std::string hf_source_name(const ModelConfig& c, const std::string& canonical);
std::string gguf_tensor_name(const std::string& canonical);

// Throws unless rope_ext_factors is empty or head_dim / 2 positive finite values.
void check_rope_ext_factors(const ModelConfig& c, const std::string& source);
// Rotary inverse frequencies with the LongRoPE divisors applied (rope_inv_freq() otherwise).
std::vector<float> rope_inv_freq_ext(const ModelConfig& c);

// The features beyond Llama's that `c` uses, for `anyprec info` ("" for plain Llama).
std::string arch_features(const ModelConfig& c);

// Gemma stores RMSNorm weights as w with the norm scaling by (1 + w);
// Hugging Face folders keep w (GGUF files already hold 1 + w).
bool norm_weights_offset_by_one(const ModelConfig& c);

}  // namespace ap
