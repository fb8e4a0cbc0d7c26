// Any-precision checkpoint: layout documented in anyprec_checkpoint.h. The
// reader trusts nothing: every metadata key, dtype and shape is checked
// against the quantization widths before any tensor is copied.
#include "anyprec_checkpoint.h"

#include "error.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>

namespace ap {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kFormat = "anyprec";
constexpr const char* kFormatVersion = "1";

std::string shape_text(const std::vector<int64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

std::string utc_now() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

json quant_to_json(const QuantInfo& q, const std::string& created) {
    return json{{"seed_bits", q.seed_bits},         {"parent_bits", q.parent_bits}, {"anchor_bits", q.anchor_bits},
                {"head_min_bits", q.head_min_bits},
                {"nesting", q.nesting},             {"seed_slack", q.seed_slack},
                {"method", q.method},               {"sensitivity", q.sensitivity},
                {"source_file", q.source_file},     {"source_sha256", q.source_sha256},
                {"calib_file", q.calib_file},       {"calib_sha256", q.calib_sha256},
                {"calib_tokens", q.calib_tokens},   {"tool_version", q.tool_version},
                {"created", created}};
}

// Reads one required metadata entry.
const std::string& need_meta(const SafetensorsFile& f, const std::string& key) {
    auto it = f.metadata().find(key);
    if (it == f.metadata().end()) throw file_error(f.path(), "missing metadata key \"" + key + "\"");
    return it->second;
}

json parse_meta_json(const SafetensorsFile& f, const std::string& key) {
    const std::string& text = need_meta(f, key);
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw file_error(f.path(), "metadata \"" + key + "\" is not a JSON object");
    return j;
}

template <class T>
T need_field(const json& j, const char* key, const std::string& path) {
    auto it = j.find(key);
    if (it == j.end()) throw file_error(path, std::string("quantization metadata lacks \"") + key + "\"");
    if constexpr (std::is_same_v<T, std::string>) {
        if (!it->is_string()) throw file_error(path, std::string("quantization field \"") + key + "\" is not a string");
    } else {
        if (!it->is_number_integer()) throw file_error(path, std::string("quantization field \"") + key + "\" is not an integer");
    }
    return it->get<T>();
}

QuantInfo quant_from_json(const json& j, const std::string& path, std::string* created) {
    QuantInfo q;
    q.any_precision = true;
    q.seed_bits = need_field<int>(j, "seed_bits", path);
    q.parent_bits = need_field<int>(j, "parent_bits", path);
    q.anchor_bits = j.value("anchor_bits", q.seed_bits);  // absent in files from before the option
    if (j.contains("head_min_bits")) q.head_min_bits = need_field<int>(j, "head_min_bits", path);
    // Absent in files from before joint nesting: those were nested greedily.
    if (j.contains("nesting")) q.nesting = need_field<std::string>(j, "nesting", path);
    else if (q.method == "anyprec") q.nesting = "greedy";
    if (j.contains("seed_slack")) {
        if (!j["seed_slack"].is_number()) throw file_error(path, "quantization field \"seed_slack\" is not a number");
        q.seed_slack = j["seed_slack"].get<double>();
    }
    q.method = need_field<std::string>(j, "method", path);
    q.sensitivity = need_field<std::string>(j, "sensitivity", path);
    q.source_file = need_field<std::string>(j, "source_file", path);
    q.source_sha256 = need_field<std::string>(j, "source_sha256", path);
    q.calib_file = need_field<std::string>(j, "calib_file", path);
    q.calib_sha256 = need_field<std::string>(j, "calib_sha256", path);
    q.calib_tokens = need_field<int>(j, "calib_tokens", path);
    q.tool_version = need_field<std::string>(j, "tool_version", path);
    *created = need_field<std::string>(j, "created", path);
    if (q.seed_bits < kern::kMinBits || q.parent_bits > kern::kMaxBits || q.seed_bits > q.parent_bits)
        throw file_error(path, "bad quantization widths " + std::to_string(q.seed_bits) + ".." +
                                   std::to_string(q.parent_bits) + " (supported: 2..8, seed <= parent)");
    if (q.head_min_bits < 0 || q.head_min_bits > q.parent_bits)
        throw file_error(path, "head_min_bits " + std::to_string(q.head_min_bits) + " is outside 0.." + std::to_string(q.parent_bits));
    return q;
}

// The tensor `name` with exactly this dtype and shape, or an error saying what differs.
const StTensor& need_tensor(const SafetensorsFile& f, const std::string& name, StDType dt,
                            const std::vector<int64_t>& shape) {
    const StTensor* t = f.find(name);
    if (!t) throw file_error(f.path(), "missing tensor \"" + name + "\"");
    if (t->dtype != dt)
        throw file_error(f.path(), "tensor \"" + name + "\" has dtype " + st_dtype_name(t->dtype) + ", expected " +
                                       st_dtype_name(dt));
    if (t->shape != shape)
        throw file_error(f.path(), "tensor \"" + name + "\" has shape " + shape_text(t->shape) + ", expected " +
                                       shape_text(shape));
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    if (t->nbytes != size_t(n) * st_dtype_size(dt))
        throw file_error(f.path(), "tensor \"" + name + "\" has " + std::to_string(t->nbytes) + " bytes, expected " +
                                       std::to_string(size_t(n) * st_dtype_size(dt)));
    return *t;
}

template <class T>
void copy_tensor(const StTensor& t, std::vector<T>& dst) {
    dst.resize(t.nbytes / sizeof(T));
    if (t.nbytes) std::memcpy(dst.data(), t.data, t.nbytes);  // data may be unaligned
}

std::shared_ptr<ApWeight> read_matrix(const SafetensorsFile& f, const std::string& name, int rows, int cols,
                                      const QuantInfo& q) {
    auto w = std::make_shared<ApWeight>();
    w->rows = rows;
    w->cols = cols;
    w->seed_bits = q.seed_bits;
    w->parent_bits = q.parent_bits;
    const int words = w->words();
    copy_tensor(need_tensor(f, name + ".planes", StDType::U32, {q.parent_bits, rows, words}), w->planes);
    // The kernels may read whole words: bits past `cols` must be zero.
    if (cols % 32) {
        const uint32_t pad = ~((1u << (cols % 32)) - 1u);
        for (size_t i = words - 1; i < w->planes.size(); i += words)
            if (w->planes[i] & pad) throw file_error(f.path(), "tensor \"" + name + ".planes\" has bits set past column " + std::to_string(cols));
    }
    for (int b = q.seed_bits; b <= q.parent_bits; ++b) {
        const std::string lut = name + ".lut" + std::to_string(b);
        copy_tensor(need_tensor(f, lut, StDType::I8, {rows, int64_t(1) << b}), w->lut[b]);
        copy_tensor(need_tensor(f, lut + ".affine", StDType::F32, {rows, 2}), w->affine[b]);
        for (float v : w->affine[b])
            if (!std::isfinite(v)) throw file_error(f.path(), "tensor \"" + lut + ".affine\" holds a non-finite value");
    }
    return w;
}

}  // namespace

bool is_anyprec_checkpoint(const std::string& path) {
    // Only the header is read: a damaged checkpoint is still recognised as
    // ours, so read_checkpoint can say what is wrong with it.
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return false;
    const auto size = fs::file_size(path, ec);
    if (ec || size < 8) return false;
    std::ifstream in(path, std::ios::binary);
    unsigned char len[8];
    if (!in.read(reinterpret_cast<char*>(len), 8)) return false;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
    if (n < 2 || n > size - 8 || n > (uint64_t(100) << 20)) return false;
    std::string header(n, '\0');
    if (!in.read(header.data(), std::streamsize(n))) return false;
    const json j = json::parse(header, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    auto meta = j.find("__metadata__");
    if (meta == j.end() || !meta->is_object()) return false;
    auto fmt = meta->find("format");
    return fmt != meta->end() && fmt->is_string() && fmt->get<std::string>() == kFormat;
}

CheckpointContents read_checkpoint(const std::string& path) {
    SafetensorsFile f(path);
    const std::string& format = need_meta(f, "format");
    if (format != kFormat) throw file_error(path, "not an any-precision checkpoint (format \"" + format + "\")");
    const std::string& version = need_meta(f, "format_version");
    if (version != kFormatVersion)
        throw file_error(path, "unsupported checkpoint format_version \"" + version + "\" (this build reads " +
                                   kFormatVersion + ")");

    CheckpointContents c;
    c.cfg = config_from_json(need_meta(f, "config"), path);
    c.tokenizer = tokenizer_data_from_json(need_meta(f, "tokenizer"), path);
    c.chat_template = need_meta(f, "chat_template");
    c.quant = quant_from_json(parse_meta_json(f, "quant"), path, &c.created);

    std::set<std::string> consumed;
    const json shapes = parse_meta_json(f, "shapes");
    for (const auto& [name, dims] : shapes.items()) {
        if (!dims.is_array() || dims.size() != 2 || !dims[0].is_number_integer() || !dims[1].is_number_integer())
            throw file_error(path, "shapes entry \"" + name + "\" is not [rows, cols]");
        const int64_t rows = dims[0].get<int64_t>(), cols = dims[1].get<int64_t>();
        if (rows <= 0 || cols <= 0 || rows > (int64_t(1) << 30) || cols > (int64_t(1) << 30))
            throw file_error(path, "shapes entry \"" + name + "\" has bad size " + shape_text({rows, cols}));
        c.quantized[name] = read_matrix(f, name, int(rows), int(cols), c.quant);
        consumed.insert(name + ".planes");
        for (int b = c.quant.seed_bits; b <= c.quant.parent_bits; ++b) {
            consumed.insert(name + ".lut" + std::to_string(b));
            consumed.insert(name + ".lut" + std::to_string(b) + ".affine");
        }
    }
    for (const StTensor& t : f.tensors()) {
        if (consumed.count(t.name)) continue;
        if (t.dtype != StDType::F32 && t.dtype != StDType::F16 && t.dtype != StDType::BF16)
            throw file_error(path, "tensor \"" + t.name + "\" has dtype " + st_dtype_name(t.dtype) +
                                       " but is not part of a quantized matrix");
        c.dense[t.name] = st_to_f32(t, path);
        c.dense_shapes[t.name] = t.shape;
    }
    return c;
}

void write_checkpoint(const std::string& path, const CheckpointContents& c, const std::atomic<bool>* cancel) {
    const QuantInfo& q = c.quant;
    if (q.seed_bits < kern::kMinBits || q.parent_bits > kern::kMaxBits || q.seed_bits > q.parent_bits)
        throw file_error(path, "cannot write quantization widths " + std::to_string(q.seed_bits) + ".." +
                                   std::to_string(q.parent_bits));
    SafetensorsWriter wr;
    wr.set_metadata("format", kFormat);
    wr.set_metadata("format_version", kFormatVersion);
    wr.set_metadata("config", config_to_json(c.cfg));
    wr.set_metadata("tokenizer", tokenizer_data_to_json(c.tokenizer));
    wr.set_metadata("chat_template", c.chat_template);
    wr.set_metadata("quant", quant_to_json(q, c.created.empty() ? utc_now() : c.created).dump());

    json shapes = json::object();
    std::set<std::string> names;
    auto claim = [&](const std::string& n) {
        if (!names.insert(n).second) throw file_error(path, "tensor name \"" + n + "\" used twice");
    };
    for (const auto& [name, w] : c.quantized) {
        if (!w) throw file_error(path, "quantized matrix \"" + name + "\" is empty");
        if (w->seed_bits != q.seed_bits || w->parent_bits != q.parent_bits)
            throw file_error(path, "quantized matrix \"" + name + "\" has widths " + std::to_string(w->seed_bits) +
                                       ".." + std::to_string(w->parent_bits) + ", the checkpoint " +
                                       std::to_string(q.seed_bits) + ".." + std::to_string(q.parent_bits));
        const int64_t rows = w->rows, words = w->words();
        if (rows <= 0 || w->cols <= 0 || w->planes.size() != size_t(q.parent_bits * rows * words))
            throw file_error(path, "quantized matrix \"" + name + "\" has inconsistent planes");
        shapes[name] = {w->rows, w->cols};
        claim(name + ".planes");
        wr.add(name + ".planes", StDType::U32, {q.parent_bits, rows, words}, w->planes.data(), w->planes.size() * 4);
        for (int b = q.seed_bits; b <= q.parent_bits; ++b) {
            const std::string lut = name + ".lut" + std::to_string(b);
            if (w->lut[b].size() != size_t(rows << b) || w->affine[b].size() != size_t(rows * 2))
                throw file_error(path, "quantized matrix \"" + name + "\" has an inconsistent " + std::to_string(b) +
                                           "-bit table");
            claim(lut);
            claim(lut + ".affine");
            wr.add(lut, StDType::I8, {rows, int64_t(1) << b}, w->lut[b].data(), w->lut[b].size());
            wr.add(lut + ".affine", StDType::F32, {rows, 2}, w->affine[b].data(), w->affine[b].size() * 4);
        }
    }
    wr.set_metadata("shapes", shapes.dump());

    for (const auto& [name, data] : c.dense) {
        auto it = c.dense_shapes.find(name);
        if (it == c.dense_shapes.end()) throw file_error(path, "dense tensor \"" + name + "\" has no shape");
        int64_t n = 1;
        for (int64_t d : it->second) n *= d;
        if (it->second.empty() || n != int64_t(data.size()))
            throw file_error(path, "dense tensor \"" + name + "\" has " + std::to_string(data.size()) +
                                       " values for shape " + shape_text(it->second));
        claim(name);
        if (it->second.size() == 1) wr.add_f32(name, it->second, data.data());
        else wr.add_f16_from_f32(name, it->second, data.data());
    }

    // The writer goes through a temporary file it removes on any failure.
    try {
        wr.write(path, cancel);
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {  // e.g. std::bad_alloc
        throw file_error(path, std::string("cannot write checkpoint: ") + e.what());
    }
}

}  // namespace ap
