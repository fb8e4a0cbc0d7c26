#include "model.h"
#include "memory_estimate.h"

#include "anyprec_checkpoint.h"
#include "error.h"
#include "gguf.h"
#include "model_loaders.h"
#include "safetensors.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ap {

namespace fs = std::filesystem;

static std::string file_magic(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw file_error(path, "cannot open");
    char b[4] = {};
    in.read(b, 4);
    return std::string(b, size_t(in.gcount()));
}

bool gguf_blocks_as_fp16(int64_t total_weights) {
    const char* e = std::getenv("ANYPREC_DENSE16");
    return total_weights > kHalfDenseAboveWeights || (e && std::string(e) == "1");
}

void Linear::dense_rows(int r0, int r1, float* out) const {
    const size_t b = size_t(r0) * cols, e = size_t(r1) * cols;
    if (dtype == DenseType::F32) std::memcpy(out, dense.data() + b, (e - b) * sizeof(float));
    else if (dtype == DenseType::F16) for (size_t i = b; i < e; ++i) out[i - b] = f16_to_f32(dense16[i]);
    else for (size_t i = b; i < e; ++i) out[i - b] = bf16_to_f32(dense16[i]);
}

std::vector<float> Linear::dense_f32() const {
    if (dtype == DenseType::F32) return dense;
    std::vector<float> out(dense16.size());
    if (rows > 0) dense_rows(0, rows, out.data());
    return out;
}

void Linear::release_dense() {
    std::vector<float>().swap(dense);
    std::vector<uint16_t>().swap(dense16);
}

std::unique_ptr<Model> load_model(const std::string& path, const ProgressFn& progress) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw file_error(path, "no such file or folder");
    if (fs::is_directory(path, ec) || file_magic(path) == "GGUF" || is_anyprec_checkpoint(path))
        check_memory_for_load(path);  // before any weight is read or allocated
    if (fs::is_directory(path, ec)) return load_hf_model(path, progress);
    if (file_magic(path) == "GGUF") return load_gguf_model(path, progress);
    if (is_anyprec_checkpoint(path)) return load_checkpoint_model(path, progress);
    if (path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) {
        // Parse it first: a truncated or damaged checkpoint must be reported
        // as what it is, not as a valid file that merely lacks our metadata.
        SafetensorsFile st(path);
        throw file_error(path, "a plain safetensors file without our any-precision metadata; "
                               "open the Hugging Face model folder that holds it instead");
    }
    throw file_error(path, "not a model file (expected a GGUF file, an any-precision checkpoint or a Hugging Face folder)");
}

void check_model_file(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw file_error(path, "no such file or folder");
    if (fs::is_directory(path, ec)) {
        HfFolder hf = open_hf_folder(path);  // every shard's header and tensor bounds
        (void)config_from_hf(hf.config_json, path + "/config.json");
        if (hf.tokenizer_json.empty()) throw file_error(path, "missing tokenizer.json (the model folder has no tokenizer)");
        (void)tokenizer_data_from_hf(hf.tokenizer_json, hf.tokenizer_config_json, path + "/tokenizer.json");
        return;
    }
    if (file_magic(path) == "GGUF") {
        GgufFile f(path);  // header, metadata, tensor directory within the file
        (void)tokenizer_data_from_gguf(f);
        return;
    }
    // Checkpoints and plain safetensors: header and tensor bounds; the rest
    // (our metadata) is what load_model reports.
    if (is_anyprec_checkpoint(path) || (path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0)) {
        SafetensorsFile st(path);
        if (is_anyprec_checkpoint(path)) return;
    }
    (void)load_model(path);  // not a model: the same message load_model gives
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        HfFolder hf = open_hf_folder(path);
        if (hf.tokenizer_json.empty()) throw file_error(path, "missing tokenizer.json");
        return std::make_unique<Tokenizer>(
            tokenizer_data_from_hf(hf.tokenizer_json, hf.tokenizer_config_json, path + "/tokenizer.json"));
    }
    if (fs::exists(path, ec) && file_magic(path) == "GGUF") return load_gguf_tokenizer(path);
    // Checkpoints: the tokenizer lives in the metadata; reading it loads the whole file.
    auto m = load_model(path);
    return std::move(m->tok);
}

std::vector<float> rope_inv_freq(const ModelConfig& c) {
    const int half = c.head_dim / 2;
    std::vector<float> f(half);
    for (int i = 0; i < half; ++i) {
        double inv = std::pow(double(c.rope_theta), -2.0 * i / c.head_dim);
        if (c.rope_factor > 0) {
            // Llama 3: long wavelengths slowed by `factor`, short ones kept, smooth in between.
            const double two_pi = 6.283185307179586;
            double wavelen = two_pi / inv;
            double low_wl = c.rope_orig_ctx / c.rope_low_freq, high_wl = c.rope_orig_ctx / c.rope_high_freq;
            if (wavelen > low_wl) {
                inv /= c.rope_factor;
            } else if (wavelen >= high_wl) {
                double smooth = (c.rope_orig_ctx / wavelen - c.rope_low_freq) / (c.rope_high_freq - c.rope_low_freq);
                inv = (1 - smooth) * inv / c.rope_factor + smooth * inv;
            }
        }
        if (c.rope_linear > 0) inv /= c.rope_linear;  // linear ("position interpolation") scaling
        f[i] = float(inv);
    }
    return f;
}

std::vector<float> rope_inv_freq_local(const ModelConfig& c) {
    if (!(c.rope_theta_local > 0)) return {};
    std::vector<float> f(c.head_dim / 2);
    for (int i = 0; i < c.head_dim / 2; ++i) f[i] = float(std::pow(double(c.rope_theta_local), -2.0 * i / c.head_dim));
    return f;
}

std::vector<int> Model::widths() const {
    if (!quant.any_precision) return {0};
    std::vector<int> w;
    for (int b = quant.seed_bits; b <= quant.parent_bits; ++b) w.push_back(b);
    return w;
}

int Model::resolve_bits(int bits) const {
    if (!quant.any_precision) return 0;
    if (bits <= 0) return quant.parent_bits;
    return std::clamp(bits, quant.seed_bits, quant.parent_bits);
}

template <class F>
static void for_each_linear(const Model& m, F&& f) {
    f(m.embed);
    if (!m.cfg.tied_embeddings) f(m.head);
    for (const auto& L : m.layers)
        for (const Linear* l : L.projections()) f(*l);
}

int64_t Model::n_params() const {
    int64_t n = int64_t(final_norm.size());
    for_each_linear(*this, [&](const Linear& l) { n += int64_t(l.rows) * l.cols; });
    for (const auto& L : layers)
        for (const auto& v : kLayerVectors) n += int64_t((L.*v.field).size());
    return n;
}

uint64_t MemoryReport::separate_total() const {
    uint64_t s = 0;
    for (auto& [b, n] : separate_bytes) s += n;
    return s;
}

static uint64_t norm_bytes(const Model& m) {
    uint64_t n = m.final_norm.size();
    for (const auto& L : m.layers)
        for (const auto& v : kLayerVectors) n += (L.*v.field).size();
    return n * 4;
}

MemoryReport weight_memory(const Model& m) {
    MemoryReport r;
    r.dense_bytes = norm_bytes(m);
    for_each_linear(m, [&](const Linear& l) {
        if (l.quantized()) {
            r.plane_bytes += l.ap->plane_bytes();
            r.table_bytes += l.ap->table_bytes();
        } else {
            r.dense_bytes += l.dense_bytes();
        }
    });
    for (int b : m.widths()) {
        if (b == 0) continue;
        uint64_t s = r.dense_bytes;
        for_each_linear(m, [&](const Linear& l) {
            if (l.quantized()) s += kern::ap_bytes_read(l.ap->view(), m.width_of(l, b));
        });
        r.separate_bytes.push_back({b, s});
    }
    return r;
}

uint64_t bytes_per_token(const Model& m, int bits) {
    bits = m.resolve_bits(bits);
    // The embedding is read one row per token; the head reads every row.
    uint64_t n = norm_bytes(m);
    for (const auto& L : m.layers)
        for (const Linear* l : L.projections())
            n += l->quantized() ? kern::ap_bytes_read(l->ap->view(), bits) : l->dense_bytes();
    const Linear& h = m.output();
    n += h.quantized() ? kern::ap_bytes_read(h.ap->view(), m.head_bits(bits)) : h.dense_bytes();
    return n;
}

double bits_per_weight(const Model& m, int bits) {
    bits = m.resolve_bits(bits);
    if (bits == 0) return 0;
    uint64_t bytes = 0, weights = 0;
    // Matrices left unquantized (--keep-embeddings) count at the size they are served in,
    // so a dense head is not free in the comparison.
    for_each_linear(m, [&](const Linear& l) {
        bytes += l.quantized() ? kern::ap_bytes_read(l.ap->view(), m.width_of(l, bits)) : l.dense_bytes();
        weights += uint64_t(l.rows) * l.cols;
    });
    return weights ? 8.0 * bytes / weights : 0;
}

}  // namespace ap
