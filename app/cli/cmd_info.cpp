// anyprec info: what a model file is and what it costs at each width.
#include "archs.h"
#include "cli_common.h"
#include "commands.h"

#include <cstdio>

namespace apcli {

int cmd_info(int argc, char** argv, int first) {
    const std::vector<OptionSpec> specs = {head_floor_option()};
    Args a(specs, argc, argv, first);
    if (a.help() || a.positional().size() != 1) {
        std::printf("%s", usage_text("anyprec info MODEL", "Describe a model: format, architecture, shapes, tokenizer, widths and memory.", specs).c_str());
        return a.help() ? 0 : 2;
    }
    auto m = load_model_verbose(a.positional()[0]);
    apply_head_floor(a, *m);
    const auto& c = m->cfg;
    std::printf("file:          %s\n", m->path.c_str());
    std::printf("format:        %s — %s\n", m->format.c_str(), m->source_note.c_str());
    std::printf("name:          %s\n", c.name.c_str());
    std::printf("architecture:  %s, %d layers, hidden %d, %d heads / %d KV heads (head dim %d), ffn %d\n", c.arch.c_str(),
                c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_ff);
    std::printf("vocabulary:    %d tokens (%s, pre-tokenizer %s), BOS %d%s, EOS %d\n", c.n_vocab,
                m->tok->data().kind == ap::TokenizerData::Kind::ByteBPE ? "byte-level BPE" : "SentencePiece BPE",
                m->tok->data().pretokenizer.c_str(), m->tok->data().bos_id, m->tok->data().add_bos ? " (added)" : "",
                m->tok->data().eos_id);
    std::printf("context:       %d (trained), rope theta %.0f%s\n", c.n_ctx_train, c.rope_theta,
                c.rope_factor > 0 ? ", llama3 scaling" : "");
    if (const std::string f = ap::arch_features(c); !f.empty()) std::printf("features:      %s\n", f.c_str());
    std::printf("embeddings:    %s\n", c.tied_embeddings ? "tied with the output head" : "separate output head");
    std::printf("chat template: %s\n", ap::chat_format_name(m->chat_format));
    std::printf("parameters:    %.1f M\n", m->n_params() / 1e6);
    const ap::MemoryReport r = ap::weight_memory(*m);
    if (m->any_precision()) {
        const auto& q = m->quant;
        std::printf("any-precision: %s, widths %d..%d (optimal at %d), sensitivity %s, calibrated on %s (%d tokens)\n",
                    q.method.c_str(), q.seed_bits, q.parent_bits, q.anchor_bits, q.sensitivity.c_str(), q.calib_file.c_str(),
                    q.calib_tokens);
        if (q.nesting == "joint")
            std::printf("nesting:       joint (seed error at most %.3g%% above the optimal seed's)\n", 100 * q.seed_slack);
        else if (!q.nesting.empty())
            std::printf("nesting:       %s\n", q.nesting.c_str());
        std::printf("source:        %s (sha256 %s)\n", q.source_file.c_str(), q.source_sha256.substr(0, 16).c_str());
        std::printf("weights:       planes %s + tables %s + dense %s = %s\n", human_bytes(r.plane_bytes).c_str(),
                    human_bytes(r.table_bytes).c_str(), human_bytes(r.dense_bytes).c_str(),
                    human_bytes(r.weight_total()).c_str());
        std::printf("\n%5s %10s %14s %16s\n", "bits", "bits/wt", "read/token", "alone would be");
        for (auto& [b, bytes] : r.separate_bytes)
            std::printf("%5d %10.2f %14s %16s\n", b, ap::bits_per_weight(*m, b), human_bytes(ap::bytes_per_token(*m, b)).c_str(),
                        human_bytes(bytes).c_str());
        std::printf("separate models %d..%d would take %s; this one holds them all in %s (%.2fx less)\n", q.seed_bits,
                    q.parent_bits, human_bytes(r.separate_total()).c_str(), human_bytes(r.weight_total()).c_str(),
                    double(r.separate_total()) / r.weight_total());
    } else {
        const char* held = m->layers.empty() ? "fp32"
                           : m->layers[0].wq.dtype == ap::DenseType::F16  ? "matrices fp16"
                           : m->layers[0].wq.dtype == ap::DenseType::BF16 ? "matrices bf16"
                                                                           : "fp32";
        std::printf("weights:       %s in memory (%s)\n", human_bytes(r.weight_total()).c_str(), held);
    }
    return 0;
}

}  // namespace apcli
