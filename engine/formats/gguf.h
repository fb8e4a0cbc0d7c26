// GGUF (v2/v3) reader and a small writer: metadata of every value type,
// tensor directory, and dequantization of the tensor types we support.
#pragma once
#include "mapped_file.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ap {

enum class GgufValueType : uint32_t {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
    BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

// One metadata value. Scalars live in the field matching their kind
// (unsigned -> u, signed -> i, float -> f, bool -> b, string -> s);
// arrays keep their element type and values in arr.
struct GgufValue {
    GgufValueType type = GgufValueType::UINT32;
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0;
    bool b = false;
    std::string s;
    GgufValueType elem_type = GgufValueType::UINT32;
    // Array elements live in one of three forms. Arrays read from a file are
    // packed (numbers and bools as their file bytes, strings as strings), so
    // a million one-byte elements cost a megabyte, not a hundred; nested
    // arrays, and arrays built in code for the writer, use `arr`.
    std::vector<GgufValue> arr;
    std::vector<uint8_t> packed;
    std::vector<std::string> strings;

    size_t size() const;                 // element count of an array, whichever form
    GgufValue element(size_t k) const;   // element k as a scalar (or nested array) value

    // Numeric value of any integer/float/bool scalar as the requested type.
    int64_t as_int() const;
    double as_double() const;
};

// ggml tensor type ids (subset we read or write). The 5-bit, K-quant and
// IQ4 types are read only (decoders in ggml_quants.h).
enum class GgmlType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, IQ4_NL = 20, IQ4_XS = 23, BF16 = 30,
};

struct GgufTensor {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> shape;  // ggml order: shape[0] is the innermost (contiguous) dimension
    uint64_t offset = 0;         // relative to the data section
    const uint8_t* data = nullptr;
    size_t nbytes = 0;
    int64_t n_elements() const;
};

class GgufFile {
public:
    // Maps and parses the file; throws ap::Error naming the file and the
    // problem (bad magic, unsupported version, truncated, unknown tensor
    // type, tensor data out of bounds, ...).
    explicit GgufFile(const std::string& path);

    const std::string& path() const { return file_.path(); }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }

    const std::map<std::string, GgufValue>& metadata() const { return kv_; }
    const GgufValue* find(const std::string& key) const;  // nullptr if absent
    std::string get_string(const std::string& key, const std::string& def = "") const;
    int64_t get_int(const std::string& key, int64_t def) const;
    double get_float(const std::string& key, double def) const;
    std::vector<std::string> get_string_array(const std::string& key) const;  // empty if absent

    const std::vector<GgufTensor>& tensors() const { return tensors_; }
    const GgufTensor* find_tensor(const std::string& name) const;

private:
    MappedFile file_;
    uint32_t version_ = 0;
    uint32_t alignment_ = 32;
    std::map<std::string, GgufValue> kv_;
    std::vector<GgufTensor> tensors_;
    std::map<std::string, size_t> tensor_index_;
};

// Bytes needed for n elements of a type (n must be a multiple of the block size).
size_t ggml_type_size(GgmlType t, int64_t n);
int ggml_block_size(GgmlType t);
const char* ggml_type_name(GgmlType t);

// Dequantize n elements of a tensor's raw data into dst (fp32).
void dequantize_row(GgmlType t, const uint8_t* src, float* dst, int64_t n);

// Names of the tensor types GgufFile loads, comma separated (for messages and docs).
std::string ggml_supported_type_names();

// Reference quantizers (used by tests and tools that write GGUF files).
// They produce the exact block formats llama.cpp reads. Only F32, F16, BF16,
// Q8_0, Q4_0 and Q4_1; the other types are written with add_tensor_raw.
std::vector<uint8_t> quantize_to(GgmlType t, const float* src, int64_t n);

// Writes GGUF v3 files (tests write their own models through this).
class GgufWriter {
public:
    void set_u32(const std::string& key, uint32_t v);
    void set_i32(const std::string& key, int32_t v);
    void set_f32(const std::string& key, float v);
    void set_bool(const std::string& key, bool v);
    void set_string(const std::string& key, const std::string& v);
    void set_value(const std::string& key, const GgufValue& v);  // any type, incl. arrays
    void set_string_array(const std::string& key, const std::vector<std::string>& v);
    void set_f32_array(const std::string& key, const std::vector<float>& v);
    void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
    // shape in ggml order (innermost first); data is fp32 and converted to type t.
    void add_tensor(const std::string& name, GgmlType t, const std::vector<int64_t>& shape, const float* data);
    // Already-encoded blocks of type t (any type GgufFile reads); bytes must be
    // exactly ggml_type_size(t, elements).
    void add_tensor_raw(const std::string& name, GgmlType t, const std::vector<int64_t>& shape,
                        std::vector<uint8_t> bytes);
    // Writes to path (temporary name + rename); throws ap::Error on failure.
    void write(const std::string& path, uint32_t alignment = 32) const;

private:
    std::vector<std::pair<std::string, GgufValue>> kv_;
    struct Pending { std::string name; GgmlType type; std::vector<int64_t> shape; std::vector<uint8_t> bytes; };
    std::vector<Pending> tensors_;
};

}  // namespace ap
