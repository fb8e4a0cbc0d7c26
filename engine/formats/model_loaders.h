// The per-format loaders behind load_model(); each returns a complete Model.
#pragma once
#include "model.h"

namespace ap {

std::unique_ptr<Model> load_gguf_model(const std::string& path, const ProgressFn& progress);
std::unique_ptr<Model> load_hf_model(const std::string& dir, const ProgressFn& progress);
std::unique_ptr<Model> load_checkpoint_model(const std::string& path, const ProgressFn& progress);
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path);

}  // namespace ap
