// safetensors reading (validated against the mapping), streaming writer with
// 64-byte aligned tensors, Hugging Face folder discovery, and the fp16/bf16
// conversions the formats share.
#include "safetensors.h"

#include "atomic_file.h"

#include "error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

static_assert(std::endian::native == std::endian::little, "safetensors data is read in host byte order");

namespace ap {

using nlohmann::json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- bf16 (fp16: kernels/half.h)

uint16_t f32_to_bf16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // keep NaN a (quiet) NaN
    const uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);                                 // nearest even
    return static_cast<uint16_t>(rounded >> 16);
}

float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

// ---------------------------------------------------------------- dtypes

namespace {

struct DTypeInfo {
    StDType t;
    const char* name;
    size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {StDType::F32, "F32", 4}, {StDType::F16, "F16", 2}, {StDType::BF16, "BF16", 2}, {StDType::I8, "I8", 1},
    {StDType::U8, "U8", 1},   {StDType::I32, "I32", 4}, {StDType::U32, "U32", 4},   {StDType::I64, "I64", 8},
};

const DTypeInfo& dtype_info(StDType t) {
    for (const DTypeInfo& d : kDTypes)
        if (d.t == t) return d;
    throw Error("invalid safetensors dtype " + std::to_string(static_cast<int>(t)));
}

// A safetensors header is at most 100 MB (the reference implementation's
// limit); anything larger is a corrupt length, not a real header.
constexpr uint64_t kMaxHeader = 100'000'000;
constexpr size_t kAlign = 64;

bool mul_ok(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw file_error(path, "read error");
    return ss.str();
}

std::string shape_str(const std::vector<int64_t>& s) {
    std::string r = "[";
    for (size_t k = 0; k < s.size(); ++k) r += (k ? ", " : "") + std::to_string(s[k]);
    return r + "]";
}

}  // namespace

const char* st_dtype_name(StDType t) { return dtype_info(t).name; }
size_t st_dtype_size(StDType t) { return dtype_info(t).size; }

int64_t StTensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // overflow was ruled out when the header was parsed
    return n;
}

// ---------------------------------------------------------------- reader

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
    const std::string& p = file_.path();
    const size_t size = file_.size();
    if (size < 8)
        throw file_error(p, "truncated: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    uint64_t hlen;
    std::memcpy(&hlen, file_.data(), 8);
    if (hlen > kMaxHeader)
        throw file_error(p, "header length " + std::to_string(hlen) + " is implausibly large (corrupt or not safetensors)");
    if (hlen > size - 8)
        throw file_error(p, "truncated: header claims " + std::to_string(hlen) + " bytes but the file has only " +
                                std::to_string(size - 8) + " after the length field");
    const char* hbeg = reinterpret_cast<const char*>(file_.data() + 8);
    json header;
    try {
        header = json::parse(hbeg, hbeg + hlen);
    } catch (const json::exception& e) {
        throw file_error(p, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) throw file_error(p, "header JSON is not an object");

    const uint8_t* data = file_.data() + 8 + hlen;
    const uint64_t data_size = size - 8 - hlen;
    struct Range { uint64_t b, e; size_t idx; };
    std::vector<Range> ranges;

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) throw file_error(p, "__metadata__ is not a JSON object");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m->is_string()) throw file_error(p, "__metadata__ value for '" + m.key() + "' is not a string");
                meta_[m.key()] = m->get<std::string>();
            }
            continue;
        }
        auto bad = [&](const std::string& what) { return file_error(p, "tensor '" + name + "': " + what); };
        if (!v.is_object()) throw bad("header entry is not a JSON object");
        if (!v.contains("dtype") || !v["dtype"].is_string()) throw bad("missing or non-string \"dtype\"");
        if (!v.contains("shape") || !v["shape"].is_array()) throw bad("missing or non-array \"shape\"");
        if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
            throw bad("\"data_offsets\" must be an array of two integers");

        StTensor t;
        t.name = name;
        const std::string dt = v["dtype"].get<std::string>();
        auto info = std::find_if(std::begin(kDTypes), std::end(kDTypes), [&](auto& d) { return dt == d.name; });
        if (info == std::end(kDTypes)) throw bad("dtype " + dt + " is not supported (F32, F16, BF16, I8, U8, I32, U32, I64)");
        t.dtype = info->t;

        int64_t n = 1;
        for (const json& d : v["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0) throw bad("shape entries must be non-negative integers");
            if (!mul_ok(n, d.get<int64_t>(), n)) throw bad("element count overflows");
            t.shape.push_back(d.get<int64_t>());
        }
        const json& off = v["data_offsets"];
        if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            throw bad("\"data_offsets\" must be non-negative integers");
        const uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
        if (b > e) throw bad("data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] are reversed");
        if (e > data_size)
            throw bad("data [" + std::to_string(b) + ", " + std::to_string(e) + ") extends past the end of the data section (" +
                      std::to_string(data_size) + " bytes; truncated file?)");
        int64_t expect;
        if (!mul_ok(n, static_cast<int64_t>(info->size), expect)) throw bad("byte size overflows");
        if (static_cast<uint64_t>(expect) != e - b)
            throw bad("shape " + shape_str(t.shape) + " of " + dt + " needs " + std::to_string(expect) +
                      " bytes but data_offsets span " + std::to_string(e - b));
        t.data = data + b;
        t.nbytes = static_cast<size_t>(e - b);
        if (e > b) ranges.push_back({b, e, tensors_.size()});  // empty tensors occupy no bytes
        index_[name] = tensors_.size();
        tensors_.push_back(std::move(t));
    }

    std::sort(ranges.begin(), ranges.end(), [](auto& a, auto& b) { return a.b < b.b; });
    for (size_t k = 1; k < ranges.size(); ++k)
        if (ranges[k].b < ranges[k - 1].e)
            throw file_error(p, "tensors '" + tensors_[ranges[k - 1].idx].name + "' and '" +
                                    tensors_[ranges[k].idx].name + "' have overlapping data");
}

const StTensor* SafetensorsFile::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<float> st_to_f32(const StTensor& t, const std::string& file_for_errors) {
    const size_t n = static_cast<size_t>(t.n_elements());
    std::vector<float> out(n);
    switch (t.dtype) {
        case StDType::F32: std::memcpy(out.data(), t.data, n * 4); return out;
        case StDType::F16:
        case StDType::BF16: {
            float (*const widen)(uint16_t) = t.dtype == StDType::F16 ? f16_to_f32 : bf16_to_f32;
            for (size_t k = 0; k < n; ++k) {
                uint16_t h;
                std::memcpy(&h, t.data + 2 * k, 2);
                out[k] = widen(h);
            }
            return out;
        }
        default: break;
    }
    throw file_error(file_for_errors, "tensor '" + t.name + "' has dtype " + st_dtype_name(t.dtype) +
                                          ", expected a float type (F32, F16 or BF16)");
}

// ---------------------------------------------------------------- writer

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) { meta_[key] = value; }

void SafetensorsWriter::add(const std::string& name, StDType dtype, const std::vector<int64_t>& shape, const void* data,
                            size_t nbytes) {
    if (name.empty() || name == "__metadata__") throw Error("safetensors: invalid tensor name '" + name + "'");
    for (const Entry& e : entries_)
        if (e.name == name) throw Error("safetensors: tensor '" + name + "' added twice");
    int64_t n = 1;
    for (int64_t d : shape)
        if (d < 0 || !mul_ok(n, d, n)) throw Error("safetensors: tensor '" + name + "' has invalid shape " + shape_str(shape));
    int64_t expect;
    if (!mul_ok(n, static_cast<int64_t>(st_dtype_size(dtype)), expect) || static_cast<uint64_t>(expect) != nbytes)
        throw Error("safetensors: tensor '" + name + "' shape " + shape_str(shape) + " of " + st_dtype_name(dtype) +
                    " does not match " + std::to_string(nbytes) + " bytes of data");
    const auto* p = static_cast<const uint8_t*>(data);
    entries_.push_back({name, dtype, shape, std::vector<uint8_t>(p, p + nbytes)});
}

void SafetensorsWriter::add_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    int64_t n = 1;
    for (int64_t d : shape)
        if (d < 0 || !mul_ok(n, d, n)) throw Error("safetensors: tensor '" + name + "' has invalid shape " + shape_str(shape));
    add(name, StDType::F32, shape, data, static_cast<size_t>(n) * 4);
}

namespace {
template <class Conv>
std::vector<uint16_t> convert_halves(const std::string& name, const std::vector<int64_t>& shape, const float* data, Conv conv) {
    int64_t n = 1;
    for (int64_t d : shape)
        if (d < 0 || !mul_ok(n, d, n)) throw Error("safetensors: tensor '" + name + "' has invalid shape " + shape_str(shape));
    std::vector<uint16_t> h(static_cast<size_t>(n));
    for (size_t k = 0; k < h.size(); ++k) h[k] = conv(data[k]);
    return h;
}
}  // namespace

void SafetensorsWriter::add_f16_from_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    auto h = convert_halves(name, shape, data, f32_to_f16);
    add(name, StDType::F16, shape, h.data(), h.size() * 2);
}

void SafetensorsWriter::add_bf16_from_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    auto h = convert_halves(name, shape, data, f32_to_bf16);
    add(name, StDType::BF16, shape, h.data(), h.size() * 2);
}

void SafetensorsWriter::write(const std::string& path, const std::atomic<bool>* cancel) const {
    json header = json::object();
    if (!meta_.empty()) header["__metadata__"] = meta_;
    std::vector<uint64_t> begins;
    uint64_t off = 0;
    for (const Entry& e : entries_) {
        // Back to back: the format forbids holes, and readers copy what needs alignment.
        begins.push_back(off);
        header[e.name] = {{"dtype", st_dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {off, off + e.bytes.size()}}};
        off += e.bytes.size();
    }
    std::string text = header.dump();
    // Space padding (allowed by the format) puts the data section on a 64-byte boundary.
    text.append((kAlign - (8 + text.size()) % kAlign) % kAlign, ' ');
    const uint64_t hlen = text.size();

    AtomicFileWriter out(path, cancel);
    out.write(&hlen, 8);
    out.write(text.data(), text.size());
    for (const Entry& e : entries_) out.write(e.bytes.data(), e.bytes.size());
    out.commit();
}

// ---------------------------------------------------------------- Hugging Face folder

const StTensor* HfFolder::find(const std::string& name) const {
    auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : it->second;
}

std::string HfFolder::file_of(const std::string& name) const {
    for (const auto& s : shards)
        if (s->find(name)) return s->path();
    return "";
}

HfFolder open_hf_folder(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw file_error(dir, "not a directory (expected a Hugging Face model folder)");
    HfFolder f;
    f.dir = dir;
    const fs::path d(dir);

    const std::string config = (d / "config.json").string();
    if (!fs::exists(config, ec))
        throw file_error(config, "missing: a Hugging Face model folder needs config.json");
    f.config_json = read_text(config);
    if (std::string t = (d / "tokenizer.json").string(); fs::exists(t, ec)) f.tokenizer_json = read_text(t);
    if (std::string t = (d / "tokenizer_config.json").string(); fs::exists(t, ec)) f.tokenizer_config_json = read_text(t);

    const std::string index = (d / "model.safetensors.index.json").string();
    const std::string single = (d / "model.safetensors").string();
    std::map<std::string, std::string> weight_map;  // tensor -> shard file name
    if (fs::exists(index, ec)) {
        json j;
        try {
            j = json::parse(read_text(index));
        } catch (const json::exception& e) {
            throw file_error(index, std::string("not valid JSON: ") + e.what());
        }
        if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
            throw file_error(index, "has no \"weight_map\" object");
        std::set<std::string> shard_names;
        for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
            if (!it->is_string()) throw file_error(index, "weight_map entry for '" + it.key() + "' is not a string");
            std::string shard = it->get<std::string>();
            // Shards must be files inside this folder, not paths elsewhere.
            if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
                throw file_error(index, "weight_map names an invalid shard file '" + shard + "'");
            weight_map[it.key()] = shard;
            shard_names.insert(shard);
        }
        if (shard_names.empty()) throw file_error(index, "weight_map is empty");
        for (const std::string& s : shard_names) {
            const std::string sp = (d / s).string();
            if (!fs::exists(sp, ec)) throw file_error(sp, "missing: shard listed in " + index);
            f.shards.push_back(std::make_unique<SafetensorsFile>(sp));
        }
    } else if (fs::exists(single, ec)) {
        f.shards.push_back(std::make_unique<SafetensorsFile>(single));
    } else {
        throw file_error(dir, "no model.safetensors or model.safetensors.index.json in the folder");
    }

    for (const auto& s : f.shards)
        for (const StTensor& t : s->tensors()) {
            auto [it, fresh] = f.tensors.emplace(t.name, &t);
            if (!fresh)
                throw file_error(s->path(), "tensor '" + t.name + "' is also in " + f.file_of(t.name));
        }
    for (const auto& [name, shard] : weight_map) {
        const std::string sp = (d / shard).string();
        auto it = std::find_if(f.shards.begin(), f.shards.end(), [&](auto& s) { return s->path() == sp; });
        if (it == f.shards.end() || !(*it)->find(name))
            throw file_error(index, "weight_map puts tensor '" + name + "' in " + shard + ", which does not contain it");
    }
    return f;
}

}  // namespace ap
