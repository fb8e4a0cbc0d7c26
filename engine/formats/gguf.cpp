// GGUF v2/v3 parsing, ggml block (de)quantization and the v3 writer.
// Every read goes through a bounds-checked cursor so corrupt or truncated
// files become ap::Error messages instead of reads past the mapping.
#include "gguf.h"

#include "atomic_file.h"
#include "ggml_quants.h"

#include "error.h"
#include "safetensors.h"  // fp16/bf16 conversions

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <unistd.h>

static_assert(std::endian::native == std::endian::little, "GGUF files are read in host byte order");

namespace ap {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian uint32
constexpr uint32_t kDefaultAlignment = 32;
constexpr int kMaxDims = 4;
constexpr int kMaxArrayDepth = 8;  // nested arrays deeper than this are corrupt, not data

// Names of ggml type ids, so an unsupported type is reported by name too.
const char* ggml_id_name(uint32_t id) {
    static const char* const names[] = {
        "F32",     "F16",     "Q4_0",   "Q4_1",    "Q4_2 (removed)", "Q4_3 (removed)", "Q5_0",  "Q5_1",
        "Q8_0",    "Q8_1",    "Q2_K",   "Q3_K",    "Q4_K",          "Q5_K",           "Q6_K",  "Q8_K",
        "IQ2_XXS", "IQ2_XS",  "IQ3_XXS", "IQ1_S",  "IQ4_NL",        "IQ3_S",          "IQ2_S", "IQ4_XS",
        "I8",      "I16",     "I32",    "I64",     "F64",           "IQ1_M",          "BF16",
    };
    return id < std::size(names) ? names[id] : nullptr;
}

// The types gguf.cpp decodes inline, in the order messages list them; the
// 5-bit, K-quant and IQ4 types come from ggml_quants.
constexpr GgmlType kInlineTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                                     GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1};

bool supported_type(uint32_t id) {
    const auto t = static_cast<GgmlType>(id);
    return std::find(std::begin(kInlineTypes), std::end(kInlineTypes), t) != std::end(kInlineTypes) ||
           ggml_quants_has(t);
}

const char* value_type_name(GgufValueType t) {
    switch (t) {
        case GgufValueType::UINT8: return "uint8";
        case GgufValueType::INT8: return "int8";
        case GgufValueType::UINT16: return "uint16";
        case GgufValueType::INT16: return "int16";
        case GgufValueType::UINT32: return "uint32";
        case GgufValueType::INT32: return "int32";
        case GgufValueType::FLOAT32: return "float32";
        case GgufValueType::BOOL: return "bool";
        case GgufValueType::STRING: return "string";
        case GgufValueType::ARRAY: return "array";
        case GgufValueType::UINT64: return "uint64";
        case GgufValueType::INT64: return "int64";
        case GgufValueType::FLOAT64: return "float64";
    }
    return "unknown";
}

bool valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

// Bytes a single value of this type occupies at least; bounds array counts
// against the remaining file size before anything is allocated.
size_t min_encoded_size(GgufValueType t) {
    switch (t) {
        case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
        case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
        case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
        case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
        case GgufValueType::STRING: return 8;
        case GgufValueType::ARRAY: return 12;
    }
    return 1;
}

std::string hex_offset(size_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%zx", v);
    return buf;
}

// Bounds-checked little-endian reader over the mapping. `context` names the
// item being parsed (a key or tensor) so truncation errors say where.
class Cursor {
public:
    Cursor(const uint8_t* base, size_t size, const std::string& path) : base_(base), size_(size), path_(path) {}

    size_t pos() const { return pos_; }
    size_t remaining() const { return size_ - pos_; }
    void set_context(std::string c) { context_ = std::move(c); }

    [[noreturn]] void truncated(const char* what) const {
        std::string msg = "truncated file: " + std::string(what);
        if (!context_.empty()) msg += " of " + context_;
        msg += " at offset " + std::to_string(pos_) + " runs past the end of the file (" + std::to_string(size_) +
               " bytes)";
        throw file_error(path_, msg);
    }

    template <class T>
    T read(const char* what) {
        if (remaining() < sizeof(T)) truncated(what);
        T v;
        std::memcpy(&v, base_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    // n raw bytes (bounds-checked); the pointer stays valid while the file is mapped.
    const uint8_t* bytes(size_t n, const char* what) {
        if (remaining() < n) truncated(what);
        const uint8_t* p = base_ + pos_;
        pos_ += n;
        return p;
    }

    std::string string(const char* what) {
        uint64_t n = read<uint64_t>(what);
        if (n > remaining()) {
            std::string msg = std::string(what) + (context_.empty() ? "" : " of " + context_) + " at offset " +
                              std::to_string(pos_ - 8) + " claims " + std::to_string(n) + " bytes but only " +
                              std::to_string(remaining()) + " remain (truncated or corrupt file)";
            throw file_error(path_, msg);
        }
        std::string s(reinterpret_cast<const char*>(base_ + pos_), static_cast<size_t>(n));
        pos_ += static_cast<size_t>(n);
        return s;
    }

private:
    const uint8_t* base_;
    size_t size_;
    size_t pos_ = 0;
    const std::string& path_;
    std::string context_;
};

GgufValue read_value(Cursor& c, GgufValueType t, const std::string& path, const std::string& key, int depth) {
    GgufValue v;
    v.type = t;
    switch (t) {
        case GgufValueType::UINT8: v.u = c.read<uint8_t>("uint8 value"); break;
        case GgufValueType::INT8: v.i = c.read<int8_t>("int8 value"); break;
        case GgufValueType::UINT16: v.u = c.read<uint16_t>("uint16 value"); break;
        case GgufValueType::INT16: v.i = c.read<int16_t>("int16 value"); break;
        case GgufValueType::UINT32: v.u = c.read<uint32_t>("uint32 value"); break;
        case GgufValueType::INT32: v.i = c.read<int32_t>("int32 value"); break;
        case GgufValueType::FLOAT32: v.f = c.read<float>("float32 value"); break;
        case GgufValueType::UINT64: v.u = c.read<uint64_t>("uint64 value"); break;
        case GgufValueType::INT64: v.i = c.read<int64_t>("int64 value"); break;
        case GgufValueType::FLOAT64: v.f = c.read<double>("float64 value"); break;
        case GgufValueType::BOOL: {
            uint8_t b = c.read<uint8_t>("bool value");
            if (b > 1)
                throw file_error(path, "metadata key '" + key + "': bool value " + std::to_string(b) + " at offset " +
                                           std::to_string(c.pos() - 1) + " is neither 0 nor 1");
            v.b = b != 0;
            break;
        }
        case GgufValueType::STRING: v.s = c.string("string value"); break;
        case GgufValueType::ARRAY: {
            if (depth >= kMaxArrayDepth)
                throw file_error(path, "metadata key '" + key + "': arrays nested more than " +
                                           std::to_string(kMaxArrayDepth) + " deep (corrupt file)");
            uint32_t et = c.read<uint32_t>("array element type");
            if (!valid_value_type(et))
                throw file_error(path, "metadata key '" + key + "': unknown array element type " + std::to_string(et));
            v.elem_type = static_cast<GgufValueType>(et);
            uint64_t n = c.read<uint64_t>("array length");
            if (n > c.remaining() / min_encoded_size(v.elem_type))
                throw file_error(path, "metadata key '" + key + "': array of " + std::to_string(n) + " " +
                                           value_type_name(v.elem_type) + " elements cannot fit in the " +
                                           std::to_string(c.remaining()) + " bytes left (truncated or corrupt file)");
            if (v.elem_type == GgufValueType::STRING) {
                v.strings.reserve(static_cast<size_t>(n));
                for (uint64_t k = 0; k < n; ++k) v.strings.push_back(c.string("string element"));
            } else if (v.elem_type == GgufValueType::ARRAY) {
                v.arr.reserve(static_cast<size_t>(n));
                for (uint64_t k = 0; k < n; ++k) v.arr.push_back(read_value(c, v.elem_type, path, key, depth + 1));
            } else {
                const size_t bytes = static_cast<size_t>(n) * min_encoded_size(v.elem_type);  // n was bounded above
                const uint8_t* p = c.bytes(bytes, "array elements");
                if (v.elem_type == GgufValueType::BOOL)
                    for (size_t k = 0; k < bytes; ++k)
                        if (p[k] > 1)
                            throw file_error(path, "metadata key '" + key + "': bool element " + std::to_string(k) +
                                                       " is " + std::to_string(p[k]) + ", neither 0 nor 1");
                v.packed.assign(p, p + bytes);
            }
            break;
        }
    }
    return v;
}

// a*b into out, false on int64 overflow.
bool mul_ok(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

size_t type_traits_bytes(GgmlType t) {  // bytes per block
    switch (t) {
        case GgmlType::F32: return 4;
        case GgmlType::F16: return 2;
        case GgmlType::BF16: return 2;
        case GgmlType::Q8_0: return 2 + 32;
        case GgmlType::Q4_0: return 2 + 16;
        case GgmlType::Q4_1: return 2 + 2 + 16;
        default:
            if (ggml_quants_has(t)) return ggml_quants_block_bytes(t);
    }
    throw Error("unsupported ggml tensor type " + std::to_string(static_cast<uint32_t>(t)));
}

void put_f16(uint8_t* p, float v) {
    uint16_t h = f32_to_f16(v);
    std::memcpy(p, &h, 2);
}
float get_f16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16_to_f32(h);
}

}  // namespace

// ---------------------------------------------------------------- values

int64_t GgufValue::as_int() const {
    switch (type) {
        case GgufValueType::UINT8: case GgufValueType::UINT16: case GgufValueType::UINT32: case GgufValueType::UINT64:
            if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw Error("metadata value " + std::to_string(u) + " does not fit in int64");
            return static_cast<int64_t>(u);
        case GgufValueType::INT8: case GgufValueType::INT16: case GgufValueType::INT32: case GgufValueType::INT64:
            return i;
        case GgufValueType::FLOAT32: case GgufValueType::FLOAT64:
            // 2^63 is exactly representable; anything at or above it would overflow the cast.
            if (!std::isfinite(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0)
                throw Error("metadata value " + std::to_string(f) + " is not representable as an integer");
            return static_cast<int64_t>(f);
        case GgufValueType::BOOL: return b ? 1 : 0;
        case GgufValueType::STRING: case GgufValueType::ARRAY: break;
    }
    throw Error(std::string("metadata value of type ") + value_type_name(type) + " is not a number");
}

double GgufValue::as_double() const {
    switch (type) {
        case GgufValueType::UINT8: case GgufValueType::UINT16: case GgufValueType::UINT32: case GgufValueType::UINT64:
            return static_cast<double>(u);
        case GgufValueType::INT8: case GgufValueType::INT16: case GgufValueType::INT32: case GgufValueType::INT64:
            return static_cast<double>(i);
        case GgufValueType::FLOAT32: case GgufValueType::FLOAT64: return f;
        case GgufValueType::BOOL: return b ? 1.0 : 0.0;
        case GgufValueType::STRING: case GgufValueType::ARRAY: break;
    }
    throw Error(std::string("metadata value of type ") + value_type_name(type) + " is not a number");
}

size_t GgufValue::size() const {
    if (!packed.empty()) return packed.size() / min_encoded_size(elem_type);
    if (!strings.empty()) return strings.size();
    return arr.size();
}

GgufValue GgufValue::element(size_t k) const {
    if (k >= size()) throw Error("metadata array index " + std::to_string(k) + " out of range");
    if (packed.empty() && strings.empty()) return arr[k];
    GgufValue e;
    e.type = elem_type;
    if (!strings.empty()) {
        e.s = strings[k];
        return e;
    }
    const uint8_t* p = packed.data() + k * min_encoded_size(elem_type);
    auto get = [p](auto v) { std::memcpy(&v, p, sizeof v); return v; };
    switch (elem_type) {
        case GgufValueType::UINT8: e.u = get(uint8_t{}); break;
        case GgufValueType::INT8: e.i = get(int8_t{}); break;
        case GgufValueType::UINT16: e.u = get(uint16_t{}); break;
        case GgufValueType::INT16: e.i = get(int16_t{}); break;
        case GgufValueType::UINT32: e.u = get(uint32_t{}); break;
        case GgufValueType::INT32: e.i = get(int32_t{}); break;
        case GgufValueType::FLOAT32: e.f = get(float{}); break;
        case GgufValueType::UINT64: e.u = get(uint64_t{}); break;
        case GgufValueType::INT64: e.i = get(int64_t{}); break;
        case GgufValueType::FLOAT64: e.f = get(double{}); break;
        case GgufValueType::BOOL: e.b = get(uint8_t{}) != 0; break;
        case GgufValueType::STRING: case GgufValueType::ARRAY: break;
    }
    return e;
}

int64_t GgufTensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // validated against overflow when the file was parsed
    return n;
}

// ---------------------------------------------------------------- type traits

int ggml_block_size(GgmlType t) {
    switch (t) {
        case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: return 1;
        case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q4_1: return 32;
        default:
            if (ggml_quants_has(t)) return ggml_quants_block_size(t);
    }
    throw Error("unsupported ggml tensor type " + std::to_string(static_cast<uint32_t>(t)));
}

size_t ggml_type_size(GgmlType t, int64_t n) {
    int64_t blk = ggml_block_size(t);
    if (n < 0 || n % blk != 0)
        throw Error(std::string("element count ") + std::to_string(n) + " is not a multiple of the " +
                    ggml_type_name(t) + " block size " + std::to_string(blk));
    int64_t bytes;
    if (!mul_ok(n / blk, static_cast<int64_t>(type_traits_bytes(t)), bytes))
        throw Error("byte size of " + std::to_string(n) + " " + ggml_type_name(t) + " elements overflows");
    return static_cast<size_t>(bytes);
}

const char* ggml_type_name(GgmlType t) {
    const char* n = ggml_id_name(static_cast<uint32_t>(t));
    return n ? n : "unknown";
}

std::string ggml_supported_type_names() {
    std::string s;
    for (uint32_t id = 0; ggml_id_name(id); ++id)
        if (supported_type(id)) s += (s.empty() ? "" : ", ") + std::string(ggml_id_name(id));
    return s;
}

// ---------------------------------------------------------------- dequantization

void dequantize_row(GgmlType t, const uint8_t* src, float* dst, int64_t n) {
    const int64_t blk = ggml_block_size(t);
    if (n < 0 || n % blk != 0)
        throw Error("dequantize " + std::string(ggml_type_name(t)) + ": " + std::to_string(n) +
                    " elements is not a multiple of the block size " + std::to_string(blk));
    if (n == 0) return;  // an empty tensor: dst may be null (memcpy must not see it)
    switch (t) {
        case GgmlType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case GgmlType::F16:
            for (int64_t k = 0; k < n; ++k) dst[k] = get_f16(src + 2 * k);
            return;
        case GgmlType::BF16:
            for (int64_t k = 0; k < n; ++k) {
                uint16_t h;
                std::memcpy(&h, src + 2 * k, 2);
                dst[k] = bf16_to_f32(h);
            }
            return;
        case GgmlType::Q8_0:
            for (int64_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
                const float d = get_f16(src);
                const int8_t* q = reinterpret_cast<const int8_t*>(src + 2);
                for (int j = 0; j < 32; ++j) dst[j] = d * q[j];
            }
            return;
        case GgmlType::Q4_0:
            for (int64_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
                const float d = get_f16(src);
                const uint8_t* q = src + 2;
                for (int j = 0; j < 16; ++j) {
                    dst[j] = d * (static_cast<int>(q[j] & 0x0F) - 8);
                    dst[j + 16] = d * (static_cast<int>(q[j] >> 4) - 8);
                }
            }
            return;
        case GgmlType::Q4_1:
            for (int64_t b = 0; b < n / 32; ++b, src += 20, dst += 32) {
                const float d = get_f16(src);
                const float m = get_f16(src + 2);
                const uint8_t* q = src + 4;
                for (int j = 0; j < 16; ++j) {
                    dst[j] = d * (q[j] & 0x0F) + m;
                    dst[j + 16] = d * (q[j] >> 4) + m;
                }
            }
            return;
        default: ggml_quants_dequantize(t, src, dst, n / blk); return;
    }
}

// ---------------------------------------------------------------- reference quantizers

std::vector<uint8_t> quantize_to(GgmlType t, const float* src, int64_t n) {
    std::vector<uint8_t> out(ggml_type_size(t, n));
    if (n == 0) return out;  // an empty tensor: src and out.data() may be null
    uint8_t* o = out.data();
    switch (t) {
        case GgmlType::F32: std::memcpy(o, src, static_cast<size_t>(n) * 4); break;
        case GgmlType::F16:
            for (int64_t k = 0; k < n; ++k) put_f16(o + 2 * k, src[k]);
            break;
        case GgmlType::BF16:
            for (int64_t k = 0; k < n; ++k) {
                uint16_t h = f32_to_bf16(src[k]);
                std::memcpy(o + 2 * k, &h, 2);
            }
            break;
        case GgmlType::Q8_0:
            for (int64_t b = 0; b < n / 32; ++b, src += 32, o += 34) {
                float amax = 0;
                for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(src[j]));
                const float d = amax / 127.f;
                const float id = d != 0 ? 1.f / d : 0.f;
                put_f16(o, d);
                for (int j = 0; j < 32; ++j)
                    o[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(src[j] * id)));
            }
            break;
        case GgmlType::Q4_0:
            for (int64_t b = 0; b < n / 32; ++b, src += 32, o += 18) {
                // Scale from the signed extreme so it maps exactly to -8, using the full [-8, 7] range.
                float amax = 0, extreme = 0;
                for (int j = 0; j < 32; ++j)
                    if (std::fabs(src[j]) > amax) amax = std::fabs(src[j]), extreme = src[j];
                const float d = extreme / -8.f;
                const float id = d != 0 ? 1.f / d : 0.f;
                put_f16(o, d);
                auto q = [&](float x) { return static_cast<uint8_t>(std::clamp(static_cast<int>(x * id + 8.5f), 0, 15)); };
                for (int j = 0; j < 16; ++j) o[2 + j] = static_cast<uint8_t>(q(src[j]) | (q(src[j + 16]) << 4));
            }
            break;
        case GgmlType::Q4_1:
            for (int64_t b = 0; b < n / 32; ++b, src += 32, o += 20) {
                float lo = src[0], hi = src[0];
                for (int j = 1; j < 32; ++j) lo = std::min(lo, src[j]), hi = std::max(hi, src[j]);
                const float d = (hi - lo) / 15.f;
                const float id = d != 0 ? 1.f / d : 0.f;
                put_f16(o, d);
                put_f16(o + 2, lo);
                auto q = [&](float x) {
                    return static_cast<uint8_t>(std::clamp(static_cast<int>((x - lo) * id + 0.5f), 0, 15));
                };
                for (int j = 0; j < 16; ++j) o[4 + j] = static_cast<uint8_t>(q(src[j]) | (q(src[j + 16]) << 4));
            }
            break;
        default:
            throw Error(std::string("no reference quantizer for ") + ggml_type_name(t) +
                        " (write pre-encoded blocks with GgufWriter::add_tensor_raw)");
    }
    return out;
}

// ---------------------------------------------------------------- reader

GgufFile::GgufFile(const std::string& path) : file_(path) {
    const std::string& p = file_.path();
    Cursor c(file_.data(), file_.size(), p);

    uint32_t magic = c.read<uint32_t>("magic");
    if (magic != kMagic) {
        char shown[5] = {};
        std::memcpy(shown, &magic, 4);
        for (char& ch : shown)
            if (ch && (ch < 32 || ch > 126)) ch = '?';
        throw file_error(p, std::string("not a GGUF file (magic '") + shown + "', expected 'GGUF')");
    }
    version_ = c.read<uint32_t>("version");
    if (version_ == 1)
        throw file_error(p, "GGUF version 1 is not supported (only versions 2 and 3); re-convert the model with a "
                            "current llama.cpp");
    if (version_ != 2 && version_ != 3) {
        uint32_t swapped = __builtin_bswap32(version_);
        throw file_error(p, "unsupported GGUF version " + std::to_string(version_) +
                                (swapped == 2 || swapped == 3 ? " (this looks like a big-endian file, which is not supported)"
                                                              : " (only versions 2 and 3 are supported)"));
    }
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const uint64_t n_kv = c.read<uint64_t>("metadata count");
    // Smallest possible entries: key length + type + 1-byte value; name length + n_dims + type + offset.
    auto no_room = [&](const char* what, uint64_t n) {
        return file_error(p, std::string(what) + " " + std::to_string(n) + " cannot fit in the " +
                                 std::to_string(c.remaining()) + " bytes after the header (truncated or corrupt file)");
    };
    if (n_kv > c.remaining() / 13) throw no_room("metadata count", n_kv);
    if (n_tensors > c.remaining() / 24) throw no_room("tensor count", n_tensors);

    for (uint64_t k = 0; k < n_kv; ++k) {
        c.set_context("metadata entry " + std::to_string(k));
        std::string key = c.string("key");
        c.set_context("metadata key '" + key + "'");
        uint32_t t = c.read<uint32_t>("value type");
        if (!valid_value_type(t))
            throw file_error(p, "metadata key '" + key + "' has unknown value type " + std::to_string(t));
        GgufValue v = read_value(c, static_cast<GgufValueType>(t), p, key, 0);
        if (!kv_.emplace(key, std::move(v)).second) throw file_error(p, "duplicate metadata key '" + key + "'");
    }

    if (const GgufValue* a = find("general.alignment")) {
        int64_t al = 0;
        try {
            al = a->as_int();
        } catch (const Error& e) {
            throw file_error(p, std::string("general.alignment: ") + e.what());
        }
        if (al <= 0 || al > (1 << 30) || (al & (al - 1)) != 0)
            throw file_error(p, "general.alignment " + std::to_string(al) + " is not a power of two");
        alignment_ = static_cast<uint32_t>(al);
    }

    tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t k = 0; k < n_tensors; ++k) {
        c.set_context("tensor entry " + std::to_string(k));
        GgufTensor t;
        t.name = c.string("tensor name");
        c.set_context("tensor '" + t.name + "'");
        uint32_t n_dims = c.read<uint32_t>("dimension count");
        if (n_dims > kMaxDims)
            throw file_error(p, "tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions (at most " +
                                    std::to_string(kMaxDims) + " supported)");
        int64_t n_el = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            uint64_t dim = c.read<uint64_t>("dimension");
            if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                !mul_ok(n_el, static_cast<int64_t>(dim), n_el))
                throw file_error(p, "tensor '" + t.name + "': element count overflows (corrupt shape)");
            t.shape.push_back(static_cast<int64_t>(dim));
        }
        uint32_t type = c.read<uint32_t>("tensor type");
        t.offset = c.read<uint64_t>("data offset");
        if (!supported_type(type)) {
            const char* nm = ggml_id_name(type);
            throw file_error(p, "tensor '" + t.name + "' has type " + std::to_string(type) +
                                    (nm ? std::string(" (") + nm + ")" : std::string(" (unknown)")) +
                                    ", which is not supported (supported: " + ggml_supported_type_names() + ")");
        }
        t.type = static_cast<GgmlType>(type);
        const int blk = ggml_block_size(t.type);
        const int64_t row = t.shape.empty() ? 1 : t.shape[0];
        if (row % blk != 0)
            throw file_error(p, "tensor '" + t.name + "': row length " + std::to_string(row) + " is not a multiple of the " +
                                    ggml_type_name(t.type) + " block size " + std::to_string(blk));
        try {
            t.nbytes = ggml_type_size(t.type, n_el);
        } catch (const Error& e) {
            throw file_error(p, "tensor '" + t.name + "': " + e.what());
        }
        if (t.offset % alignment_ != 0)
            throw file_error(p, "tensor '" + t.name + "' data offset " + std::to_string(t.offset) +
                                    " is not a multiple of the alignment " + std::to_string(alignment_));
        if (!tensor_index_.emplace(t.name, tensors_.size()).second)
            throw file_error(p, "duplicate tensor name '" + t.name + "'");
        tensors_.push_back(std::move(t));
    }

    // Data section starts at the next alignment boundary after the directory.
    const uint64_t data_start = (static_cast<uint64_t>(c.pos()) + alignment_ - 1) / alignment_ * alignment_;
    const uint64_t size = file_.size();
    for (GgufTensor& t : tensors_) {
        const uint64_t avail = data_start <= size ? size - data_start : 0;
        if (t.offset > avail || t.nbytes > avail - t.offset) {
            // The file offset is data_start + offset, which a crafted offset can wrap: say so instead.
            uint64_t at = 0;
            const std::string where = __builtin_add_overflow(data_start, t.offset, &at)
                                          ? "beyond 2^64, corrupt offset"
                                          : "file offset " + hex_offset(at);
            throw file_error(p, "tensor '" + t.name + "' data (" + std::to_string(t.nbytes) + " bytes at data offset " +
                                    std::to_string(t.offset) + ", " + where + ") extends past the end of the file (" +
                                    std::to_string(size) + " bytes; truncated?)");
        }
        t.data = file_.data() + data_start + t.offset;
    }

    // Overlapping tensors would mean a corrupt directory (or a crafted file).
    std::vector<const GgufTensor*> by_off;
    for (const GgufTensor& t : tensors_)
        if (t.nbytes) by_off.push_back(&t);
    std::sort(by_off.begin(), by_off.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t k = 1; k < by_off.size(); ++k)
        if (by_off[k - 1]->offset + by_off[k - 1]->nbytes > by_off[k]->offset)
            throw file_error(p, "tensors '" + by_off[k - 1]->name + "' and '" + by_off[k]->name + "' overlap");
}

const GgufValue* GgufFile::find(const std::string& key) const {
    auto it = kv_.find(key);
    return it == kv_.end() ? nullptr : &it->second;
}

std::string GgufFile::get_string(const std::string& key, const std::string& def) const {
    const GgufValue* v = find(key);
    if (!v) return def;
    if (v->type != GgufValueType::STRING)
        throw file_error(path(), "metadata key '" + key + "' is a " + value_type_name(v->type) + ", expected a string");
    return v->s;
}

int64_t GgufFile::get_int(const std::string& key, int64_t def) const {
    const GgufValue* v = find(key);
    if (!v) return def;
    try {
        return v->as_int();
    } catch (const Error& e) {
        throw file_error(path(), "metadata key '" + key + "': " + e.what());
    }
}

double GgufFile::get_float(const std::string& key, double def) const {
    const GgufValue* v = find(key);
    if (!v) return def;
    try {
        return v->as_double();
    } catch (const Error& e) {
        throw file_error(path(), "metadata key '" + key + "': " + e.what());
    }
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
    const GgufValue* v = find(key);
    if (!v) return {};
    if (v->type != GgufValueType::ARRAY || v->elem_type != GgufValueType::STRING)
        throw file_error(path(), "metadata key '" + key + "' is a " + value_type_name(v->type) +
                                     (v->type == GgufValueType::ARRAY ? std::string(" of ") + value_type_name(v->elem_type)
                                                                      : std::string()) +
                                     ", expected an array of strings");
    if (!v->strings.empty()) return v->strings;
    std::vector<std::string> out;
    out.reserve(v->arr.size());
    for (const GgufValue& e : v->arr) out.push_back(e.s);
    return out;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

// ---------------------------------------------------------------- writer

namespace {

class Bytes {
public:
    template <class T>
    void put(T v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        buf.insert(buf.end(), p, p + sizeof(T));
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        buf.insert(buf.end(), s.begin(), s.end());
    }
    void pad_to(size_t alignment) { buf.resize((buf.size() + alignment - 1) / alignment * alignment, 0); }
    std::vector<uint8_t> buf;
};

void put_value(Bytes& b, const GgufValue& v, const std::string& key) {
    switch (v.type) {
        case GgufValueType::UINT8: b.put<uint8_t>(static_cast<uint8_t>(v.u)); break;
        case GgufValueType::INT8: b.put<int8_t>(static_cast<int8_t>(v.i)); break;
        case GgufValueType::UINT16: b.put<uint16_t>(static_cast<uint16_t>(v.u)); break;
        case GgufValueType::INT16: b.put<int16_t>(static_cast<int16_t>(v.i)); break;
        case GgufValueType::UINT32: b.put<uint32_t>(static_cast<uint32_t>(v.u)); break;
        case GgufValueType::INT32: b.put<int32_t>(static_cast<int32_t>(v.i)); break;
        case GgufValueType::FLOAT32: b.put<float>(static_cast<float>(v.f)); break;
        case GgufValueType::UINT64: b.put<uint64_t>(v.u); break;
        case GgufValueType::INT64: b.put<int64_t>(v.i); break;
        case GgufValueType::FLOAT64: b.put<double>(v.f); break;
        case GgufValueType::BOOL: b.put<uint8_t>(v.b ? 1 : 0); break;
        case GgufValueType::STRING: b.put_string(v.s); break;
        case GgufValueType::ARRAY:
            b.put<uint32_t>(static_cast<uint32_t>(v.elem_type));
            b.put<uint64_t>(v.size());
            for (size_t k = 0; k < v.size(); ++k) {
                const GgufValue e = v.element(k);
                if (e.type != v.elem_type)
                    throw Error("GGUF metadata key '" + key + "': array of " + value_type_name(v.elem_type) +
                                " holds a " + value_type_name(e.type) + " element");
                put_value(b, e, key);
            }
            break;
        default: throw Error("GGUF metadata key '" + key + "': invalid value type");
    }
}

}  // namespace

void GgufWriter::set_value(const std::string& key, const GgufValue& v) {
    for (auto& kv : kv_)
        if (kv.first == key) {
            kv.second = v;
            return;
        }
    kv_.emplace_back(key, v);
}

void GgufWriter::set_u32(const std::string& key, uint32_t v) {
    GgufValue x;
    x.type = GgufValueType::UINT32;
    x.u = v;
    set_value(key, x);
}

void GgufWriter::set_i32(const std::string& key, int32_t v) {
    GgufValue x;
    x.type = GgufValueType::INT32;
    x.i = v;
    set_value(key, x);
}

void GgufWriter::set_f32(const std::string& key, float v) {
    GgufValue x;
    x.type = GgufValueType::FLOAT32;
    x.f = v;
    set_value(key, x);
}

void GgufWriter::set_bool(const std::string& key, bool v) {
    GgufValue x;
    x.type = GgufValueType::BOOL;
    x.b = v;
    set_value(key, x);
}

void GgufWriter::set_string(const std::string& key, const std::string& v) {
    GgufValue x;
    x.type = GgufValueType::STRING;
    x.s = v;
    set_value(key, x);
}

namespace {
// An array value of one element type; `put` stores one element into its field.
template <class T, class Put>
GgufValue make_array(GgufValueType elem, const std::vector<T>& v, Put put) {
    GgufValue x;
    x.type = GgufValueType::ARRAY;
    x.elem_type = elem;
    x.arr.resize(v.size());
    for (size_t k = 0; k < v.size(); ++k) {
        x.arr[k].type = elem;
        put(x.arr[k], v[k]);
    }
    return x;
}
}  // namespace

void GgufWriter::set_string_array(const std::string& key, const std::vector<std::string>& v) {
    set_value(key, make_array(GgufValueType::STRING, v, [](GgufValue& e, const std::string& s) { e.s = s; }));
}

void GgufWriter::set_f32_array(const std::string& key, const std::vector<float>& v) {
    set_value(key, make_array(GgufValueType::FLOAT32, v, [](GgufValue& e, float f) { e.f = f; }));
}

void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
    set_value(key, make_array(GgufValueType::INT32, v, [](GgufValue& e, int32_t i) { e.i = i; }));
}

void GgufWriter::add_tensor(const std::string& name, GgmlType t, const std::vector<int64_t>& shape, const float* data) {
    if (shape.empty() || shape.size() > kMaxDims)
        throw Error("GGUF tensor '" + name + "': " + std::to_string(shape.size()) + " dimensions (1 to 4 supported)");
    for (const Pending& p : tensors_)
        if (p.name == name) throw Error("GGUF tensor '" + name + "' added twice");
    int64_t n = 1;
    for (int64_t d : shape)
        if (d < 0 || !mul_ok(n, d, n)) throw Error("GGUF tensor '" + name + "': invalid shape");
    if (shape[0] % ggml_block_size(t) != 0)
        throw Error("GGUF tensor '" + name + "': row length " + std::to_string(shape[0]) + " is not a multiple of the " +
                    ggml_type_name(t) + " block size " + std::to_string(ggml_block_size(t)));
    tensors_.push_back({name, t, shape, quantize_to(t, data, n)});
}

void GgufWriter::add_tensor_raw(const std::string& name, GgmlType t, const std::vector<int64_t>& shape,
                                std::vector<uint8_t> bytes) {
    if (!supported_type(static_cast<uint32_t>(t)))
        throw Error("GGUF tensor '" + name + "': type " + std::to_string(static_cast<uint32_t>(t)) + " is not supported");
    if (shape.empty() || shape.size() > kMaxDims)
        throw Error("GGUF tensor '" + name + "': " + std::to_string(shape.size()) + " dimensions (1 to 4 supported)");
    for (const Pending& p : tensors_)
        if (p.name == name) throw Error("GGUF tensor '" + name + "' added twice");
    int64_t n = 1;
    for (int64_t d : shape)
        if (d < 0 || !mul_ok(n, d, n)) throw Error("GGUF tensor '" + name + "': invalid shape");
    if (shape[0] % ggml_block_size(t) != 0)
        throw Error("GGUF tensor '" + name + "': row length " + std::to_string(shape[0]) + " is not a multiple of the " +
                    ggml_type_name(t) + " block size " + std::to_string(ggml_block_size(t)));
    const size_t want = ggml_type_size(t, n);
    if (bytes.size() != want)
        throw Error("GGUF tensor '" + name + "': " + std::to_string(bytes.size()) + " bytes given, " + ggml_type_name(t) +
                    " of this shape takes " + std::to_string(want));
    tensors_.push_back({name, t, shape, std::move(bytes)});
}

void GgufWriter::write(const std::string& path, uint32_t alignment) const {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        throw file_error(path, "GGUF alignment " + std::to_string(alignment) + " is not a power of two");

    // The reader must find the same alignment we pad with.
    auto kv = kv_;
    auto al = std::find_if(kv.begin(), kv.end(), [](auto& e) { return e.first == "general.alignment"; });
    if (alignment != kDefaultAlignment || al != kv.end()) {
        GgufValue v;
        v.type = GgufValueType::UINT32;
        v.u = alignment;
        if (al != kv.end()) al->second = v;
        else kv.emplace_back("general.alignment", v);
    }

    Bytes b;
    b.put<uint32_t>(kMagic);
    b.put<uint32_t>(3);
    b.put<uint64_t>(tensors_.size());
    b.put<uint64_t>(kv.size());
    try {
        for (const auto& [key, v] : kv) {
            b.put_string(key);
            b.put<uint32_t>(static_cast<uint32_t>(v.type));
            put_value(b, v, key);
        }
    } catch (const Error& e) {
        throw file_error(path, e.what());
    }
    uint64_t offset = 0;
    for (const Pending& t : tensors_) {
        b.put_string(t.name);
        b.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
        for (int64_t d : t.shape) b.put<uint64_t>(static_cast<uint64_t>(d));
        b.put<uint32_t>(static_cast<uint32_t>(t.type));
        b.put<uint64_t>(offset);
        offset = (offset + t.bytes.size() + alignment - 1) / alignment * alignment;
    }
    // Tensor bytes are written straight from their buffers; only the header
    // and the zero padding between tensors are assembled here.
    b.pad_to(alignment);
    const std::vector<uint8_t> zeros(alignment, 0);
    AtomicFileWriter out(path);
    out.write(b.buf.data(), b.buf.size());
    for (size_t k = 0; k < tensors_.size(); ++k) {
        const std::vector<uint8_t>& t = tensors_[k].bytes;
        out.write(t.data(), t.size());
        if (k + 1 < tensors_.size()) out.write(zeros.data(), (alignment - t.size() % alignment) % alignment);
    }
    out.commit();
}

}  // namespace ap
