// safetensors reader/writer and the Hugging Face model-folder layout
// (config.json, single or sharded *.safetensors, tokenizer files).
#pragma once
#include "half.h"
#include "mapped_file.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ap {

enum class StDType { F32, F16, BF16, I8, U8, I32, U32, I64 };
const char* st_dtype_name(StDType t);
size_t st_dtype_size(StDType t);

struct StTensor {
    std::string name;
    StDType dtype = StDType::F32;
    std::vector<int64_t> shape;  // row-major, shape[0] outermost (PyTorch order)
    const uint8_t* data = nullptr;
    size_t nbytes = 0;
    int64_t n_elements() const;
};

class SafetensorsFile {
public:
    // Maps and parses; throws ap::Error naming the file (truncated header,
    // bad JSON, offsets out of range or overlapping, shape/dtype mismatch).
    explicit SafetensorsFile(const std::string& path);
    const std::string& path() const { return file_.path(); }
    const std::map<std::string, std::string>& metadata() const { return meta_; }  // "__metadata__"
    const std::vector<StTensor>& tensors() const { return tensors_; }
    const StTensor* find(const std::string& name) const;

private:
    MappedFile file_;
    std::map<std::string, std::string> meta_;
    std::vector<StTensor> tensors_;
    std::map<std::string, size_t> index_;
};

// Converts any float dtype (F32/F16/BF16) to fp32; throws for others.
std::vector<float> st_to_f32(const StTensor& t, const std::string& file_for_errors);

class SafetensorsWriter {
public:
    void set_metadata(const std::string& key, const std::string& value);
    void add(const std::string& name, StDType dtype, const std::vector<int64_t>& shape, const void* data, size_t nbytes);
    void add_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data);
    void add_f16_from_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data);
    void add_bf16_from_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data);
    // Streams to a temporary next to path then renames (engine/formats/atomic_file.h); the data section starts 64-byte
    // aligned and tensors follow back to back (no holes, as the format requires). Throws ap::Error naming the path on any I/O failure
    // (including a full disk) and removes the temporary file.
    void write(const std::string& path, const std::atomic<bool>* cancel = nullptr) const;  // cancel: throws ap::Cancelled

private:
    std::map<std::string, std::string> meta_;
    struct Entry { std::string name; StDType dtype; std::vector<int64_t> shape; std::vector<uint8_t> bytes; };
    std::vector<Entry> entries_;
};

// A Hugging Face model folder: every tensor across all shards (single
// model.safetensors or model.safetensors.index.json), plus the JSON texts.
struct HfFolder {
    std::string dir;
    std::string config_json;            // contents of config.json (required)
    std::string tokenizer_json;         // contents of tokenizer.json ("" if absent)
    std::string tokenizer_config_json;  // contents of tokenizer_config.json ("" if absent)
    std::vector<std::unique_ptr<SafetensorsFile>> shards;
    std::map<std::string, const StTensor*> tensors;  // name -> tensor in its shard
    const StTensor* find(const std::string& name) const;
    std::string file_of(const std::string& name) const;  // shard path holding the tensor
};
// Throws ap::Error naming the folder/file and what is missing or broken.
HfFolder open_hf_folder(const std::string& dir);

// fp16 has one implementation, shared with the KV cache kernels.
inline uint16_t f32_to_f16(float f) { return kern::float_to_half(f); }
inline float f16_to_f32(uint16_t h) { return kern::half_to_float(h); }
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t h);

}  // namespace ap
