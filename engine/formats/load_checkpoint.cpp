// Any-precision checkpoint -> Model: quantized matrices keep their bitplanes;
// every width is served from them without copies.
#include "anyprec_checkpoint.h"
#include "error.h"
#include "model_assembly.h"
#include "model_loaders.h"

namespace ap {

std::unique_ptr<Model> load_checkpoint_model(const std::string& path, const ProgressFn& progress) {
    report_progress(progress, 0.0, "reading checkpoint", path);
    CheckpointContents c = read_checkpoint(path);
    auto m = std::make_unique<Model>();
    m->path = path;
    m->format = "anyprec";
    m->cfg = c.cfg;
    validate_config(m->cfg, path);
    m->tok = std::make_unique<Tokenizer>(std::move(c.tokenizer));
    m->chat_template_text = c.chat_template;
    m->chat_format = detect_chat_format(m->chat_template_text, &m->chat_warning);
    m->quant = c.quant;

    std::vector<std::shared_ptr<ApWeight>> used;
    auto take_dense = [&](const std::string& name, const std::vector<int64_t>& shape) {
        auto it = c.dense.find(name);
        if (it == c.dense.end()) throw file_error(path, "missing tensor " + name);
        auto sh = c.dense_shapes.find(name);
        if (sh == c.dense_shapes.end() || sh->second != shape)
            throw file_error(path, "tensor " + name + " has an unexpected shape");
        return std::move(it->second);
    };
    // Quantized matrices come from c.quantized; everything else is dense.
    auto fetch = [&](const std::string& name, const std::vector<int64_t>& shape) -> std::vector<float> {
        if (c.quantized.count(name)) return {};
        return take_dense(name, shape);
    };
    auto has = [&](const std::string& name) { return c.dense.count(name) || c.quantized.count(name); };
    assemble_dense_model(*m, fetch, has, progress);

    auto attach = [&](Linear& l) {
        auto it = c.quantized.find(l.name);
        if (it == c.quantized.end()) {
            if (l.dense.size() != size_t(l.rows) * l.cols) throw file_error(path, "missing tensor " + l.name);
            return;
        }
        const ApWeight& w = *it->second;
        if (w.rows != l.rows || w.cols != l.cols)
            throw file_error(path, "quantized tensor " + l.name + " is " + std::to_string(w.rows) + "x" +
                                       std::to_string(w.cols) + ", expected " + std::to_string(l.rows) + "x" +
                                       std::to_string(l.cols));
        if (w.seed_bits != m->quant.seed_bits || w.parent_bits != m->quant.parent_bits)
            throw file_error(path, "quantized tensor " + l.name + " has widths that differ from the checkpoint's");
        l.ap = it->second;
        l.dense.clear();
    };
    attach(m->embed);
    if (!m->cfg.tied_embeddings) attach(m->head);
    for (auto& L : m->layers)
        for (Linear* l : L.projections()) attach(*l);
    m->source_note = "any-precision checkpoint (" + m->quant.method + ", from " + m->quant.source_file + ")";
    return m;
}

}  // namespace ap
