#include "real_backend.h"

#include "chat_template.h"
#include "generator.h"
#include "model.h"
#include "tokenizer.h"
#include "quantize.h"
#include "sampler.h"
#include "session.h"

#include <QElapsedTimer>
#include <QFile>
#include <QDir>
#include <QFileInfo>

#include <chrono>
#include <cmath>
#include <deque>

namespace studio {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

StopReason convert(ap::StopReason r) {
    switch (r) {
    case ap::StopReason::MaxTokens: return StopReason::MaxTokens;
    case ap::StopReason::Eos: return StopReason::Eos;
    case ap::StopReason::StopString: return StopReason::StopString;
    case ap::StopReason::Cancelled: return StopReason::Cancelled;
    case ap::StopReason::ContextFull: return StopReason::ContextFull;
    }
    return StopReason::None;
}

ap::SamplingParams convert(const SamplingSettings& s) {
    ap::SamplingParams p;
    p.temperature = float(s.temperature);
    p.top_k = s.topK;
    p.top_p = float(s.topP);
    p.min_p = float(s.minP);
    p.repeat_penalty = float(s.repeatPenalty);
    p.seed = s.seed;
    return p;
}

ap::QuantizeOptions convert(const QuantizeSettings& s) {
    ap::QuantizeOptions o;
    o.source = s.source.toStdString();
    o.output = s.output.toStdString();
    o.method = s.method.toStdString();
    o.seed_bits = s.seedBits;
    o.parent_bits = s.parentBits;
    o.bits = s.bits;
    o.calib_path = s.calibPath.toStdString();
    o.calib_tokens = s.calibTokens;
    o.sensitivity = s.sensitivity.toStdString();
    o.quantize_embeddings = s.quantizeEmbeddings;
    o.threads = s.threads;
    return o;
}

// The chat prompt as token ids, in the model's own chat format.
std::vector<int32_t> promptTokens(const ap::Model& m, const QList<ChatTurn>& turns) {
    std::vector<ap::ChatMessage> msgs;
    for (const auto& t : turns) msgs.push_back({t.role.toStdString(), t.content.toStdString()});
    const auto& d = m.tok->data();
    const std::string bos = d.add_bos && d.bos_id >= 0 ? m.tok->token_bytes(d.bos_id, true) : std::string();
    const std::string text = ap::format_chat(m.chat_format, msgs, true, bos);
    return m.tok->encode(text, false, true);
}

// The checkpoint may record its source by file name only: look for it as
// given, next to the checkpoint, then in the set-up cache.
std::string findSource(const ap::Model& m) {
    const QString src = qs(m.quant.source_file);
    if (src.isEmpty()) return {};
    const QString name = QFileInfo(src).fileName();
    for (const QString& c : {src, QFileInfo(qs(m.path)).dir().filePath(name),
                             qs(ap::anyprec_cache_dir()) + QStringLiteral("/models/") + name})
        if (QFileInfo::exists(c)) return c.toStdString();
    return {};
}

// Rows of the matrices the quantizer touches (for size estimates in the wizard).
qint64 quantRows(const ap::Model& m) {
    qint64 rows = m.embed.rows;
    if (!m.cfg.tied_embeddings) rows += m.head.rows;
    for (const auto& l : m.layers)
        for (const ap::Linear* x : l.projections()) rows += x->rows;
    return rows;
}

// The engine's request for one chat turn in the model's chat format.
ap::GenerateRequest chatRequest(const ap::Model& m, const QList<ChatTurn>& turns, const SamplingSettings& s, int bits) {
    ap::GenerateRequest g;
    g.prompt = promptTokens(m, turns);
    g.max_tokens = s.maxTokens;
    g.sampling = convert(s);
    g.stop = ap::chat_stop_strings(m.chat_format);
    g.bits = m.resolve_bits(bits);
    return g;
}

TokenOut convert(const ap::TokenEvent& e, int nPrompt) {
    TokenOut t;
    t.piece = qs(e.text);
    t.bits = e.bits;
    t.elapsedS = e.elapsed_s;
    t.tokenS = e.token_s;
    t.nPrompt = nPrompt;
    t.drafted = e.drafted;
    t.roundAccepted = e.accepted;
    t.roundProposed = e.proposed;
    return t;
}

BackendResult convert(const ap::GenerateResult& r, const ap::Session& s) {
    BackendResult out;
    out.reason = convert(r.reason);
    out.nPrompt = r.n_prompt;
    out.nPromptEvaluated = r.n_prompt_evaluated;
    out.nGenerated = r.n_generated;
    out.promptS = r.prompt_s;
    out.decodeS = r.decode_s;
    out.ttftS = r.ttft_s;
    out.kvBytes = s.kv_bytes();
    out.activationBytes = s.activation_bytes();
    out.copyBytes = s.code_copy_bytes();
    out.rounds = r.n_rounds;
    out.drafted = r.n_drafted;
    out.accepted = r.n_accepted;
    return out;
}

// One comparison column: its own Session over the shared Model, driven by the
// engine's one decode loop a step at a time so the worker can interleave columns.
class RealStream : public TokenStream {
public:
    RealStream(const ap::Model& m, const ap::SessionOptions& so, const QList<ChatTurn>& turns, const SamplingSettings& s,
               int bits) {
        session_ = std::make_unique<ap::Session>(m, so);
        ap::GenerateRequest g = chatRequest(m, turns, s, bits);
        nPrompt_ = int(g.prompt.size());
        gen_ = std::make_unique<ap::Generator>(*session_, std::move(g), [this](const ap::TokenEvent& e) { queue_.push_back(e); });
    }

    bool step(TokenOut& out) override {
        try {
            while (queue_.empty() && gen_->step()) {
            }
        } catch (const std::exception& e) {
            throw EngineError(e.what());
        }
        if (queue_.empty()) return false;
        out = convert(queue_.front(), nPrompt_);
        queue_.pop_front();
        return true;
    }

    BackendResult result() const override { return convert(gen_->result(), *session_); }

private:
    std::unique_ptr<ap::Session> session_;
    std::unique_ptr<ap::Generator> gen_;
    std::deque<ap::TokenEvent> queue_;  // a step may yield several tokens, or a final piece
    int nPrompt_ = 0;
};

// ap::perplexity one window per step(): the windows are independent (each
// from an empty cache), so summing their NLL gives the figure of one call
// over the whole text, the same as `anyprec ppl`.
class RealPerplexityJob : public PerplexityJob {
public:
    RealPerplexityJob(std::unique_ptr<ap::Model> owned, const ap::Model& m, std::vector<int32_t> tokens, int ctx,
                      int bits)
        : owned_(std::move(owned)), tokens_(std::move(tokens)), ctx_(ctx), bits_(bits) {
        windows_ = int(tokens_.size() / size_t(ctx));
        if (windows_ < 1)
            throw EngineError("the evaluation text gives " + std::to_string(tokens_.size()) + " tokens, fewer than one window of " +
                              std::to_string(ctx));
        ap::SessionOptions so;
        so.n_ctx = ctx + 1;
        so.exact_prompts = true;  // the same figure as `anyprec ppl`
        so.code_copy_from = 0;    // windows are prompts: a copy would only be built for each window's last few tokens
        session_ = std::make_unique<ap::Session>(m, so);
    }
    bool step() override {
        if (done_ >= windows_) return false;
        const std::vector<int32_t> w(tokens_.begin() + ptrdiff_t(done_) * ctx_, tokens_.begin() + ptrdiff_t(done_ + 1) * ctx_);
        try {
            const ap::PerplexityResult r = ap::perplexity(*session_, w, ctx_, bits_);
            nll_ += r.mean_nll * double(r.n_scored);
            scored_ += r.n_scored;
        } catch (const std::exception& e) {
            throw EngineError(e.what());
        }
        return ++done_ < windows_;
    }
    double fraction() const override { return double(done_) / windows_; }
    double perplexity() const override { return scored_ > 0 ? std::exp(nll_ / double(scored_)) : 0; }
    qint64 nScored() const override { return scored_; }

private:
    std::unique_ptr<ap::Model> owned_;  // the source model when measuring it; declared first, destroyed last
    std::unique_ptr<ap::Session> session_;
    std::vector<int32_t> tokens_;
    int ctx_, bits_, windows_ = 0, done_ = 0;
    double nll_ = 0;
    qint64 scored_ = 0;
};

class RealBackend : public EngineBackend {
public:
    ModelInfo loadModel(const QString& path, const Progress& progress) override {
        // A file that fails its header checks (random bytes, a truncated
        // copy) is refused before the working model is touched.
        try {
            ap::check_model_file(path.toStdString());
        } catch (const std::exception& e) {
            throw EngineError(e.what());
        }
        // Then free the old model first: two models may not fit in memory. If
        // the new one still fails, the previous one is loaded again.
        const QString previous = model_ ? path_ : QString();
        try {
            open(path, progress);
            return describe(path);
        } catch (const std::exception& e) {
            QString msg = QString::fromUtf8(e.what());
            if (!previous.isEmpty()) {
                try {
                    open(previous, {});
                } catch (const std::exception&) {
                    msg += QStringLiteral("\n(the previous model could not be loaded again)");
                }
            }
            throw EngineError(msg.toStdString());
        }
    }

    bool hasModel() const override { return model_ != nullptr; }

    ModelInfo configure(const RuntimeSettings& r) override {
        runtime_ = r;
        if (!model_) return {};
        // A new session over the same model: the KV cache is re-sized, the
        // thread pool re-made; the weights stay where they are.
        chat_.reset();
        chat_ = std::make_unique<ap::Session>(*model_, sessionOptions());
        return describe(path_);
    }

    int countTokens(const QList<ChatTurn>& turns) override {
        if (!model_) return -1;
        return int(promptTokens(*model_, turns).size());
    }

    int contextLength() const override { return chat_ ? chat_->n_ctx() : 0; }

    BackendResult generate(const GenerationRequest& req, const TokenSink& onToken) override {
        ap::GenerateRequest g = chatRequest(*model_, req.turns, req.sampling, req.bits);
        g.live_bits = &req.controls->liveBits;
        g.cancel = &req.controls->cancel;
        g.draft_bits = req.draftBits;
        g.target_tps = req.targetTps;
        // Without KV reuse every turn starts from an empty cache (the whole
        // conversation is read again): slower, but nothing of an earlier
        // turn at another width stays in the cache.
        if (!runtime_.reuseKv) chat_->reset();
        const int nPrompt = int(g.prompt.size());
        try {
            const ap::GenerateResult r = chat_->generate(g, [&](const ap::TokenEvent& e) { onToken(convert(e, nPrompt)); });
            return convert(r, *chat_);
        } catch (const std::exception& e) {
            throw EngineError(e.what());
        }
    }

    std::unique_ptr<TokenStream> openStream(const QList<ChatTurn>& turns, const SamplingSettings& s,
                                            int bits) override {
        // Columns keep no code copy: up to four sessions run at once and each would hold its own.
        ap::SessionOptions so = sessionOptions();
        so.code_copy_from = 0;
        return std::make_unique<RealStream>(*model_, so, turns, s, bits);
    }

    std::unique_ptr<PerplexityJob> openPerplexity(const QString& textPath, int bits, int ctx,
                                                  int maxWindows) override {
        try {
            // bits < 0: the source model of the checkpoint, loaded only for this measurement.
            std::unique_ptr<ap::Model> source;
            if (bits < 0) {
                const std::string src = findSource(*model_);
                if (src.empty()) throw EngineError("the source model of this checkpoint was not found");
                source = ap::load_model(src);
                bits = 0;
            }
            const ap::Model& m = source ? *source : *model_;
            std::vector<int32_t> tokens = textTokens(m, textPath, ctx, maxWindows);
            return std::make_unique<RealPerplexityJob>(std::move(source), m, std::move(tokens), ctx, m.resolve_bits(bits));
        } catch (const EngineError&) {
            throw;
        } catch (const std::exception& e) {
            throw EngineError(e.what());
        }
    }

    QuantizeOutcome quantize(const QuantizeSettings& s, const QuantizeSink& progress,
                             const std::atomic<bool>* cancel) override {
        QuantizeOutcome out;
        out.output = s.output;
        try {
            const auto r = ap::quantize_model(convert(s), [&](const ap::QuantizeProgress& p) {
                QuantizeProgressInfo q;
                q.fraction = p.fraction;
                q.step = p.step;
                q.nSteps = p.n_steps;
                q.stage = qs(p.stage);
                q.tensor = qs(p.tensor);
                q.elapsedS = p.elapsed_s;
                q.etaS = p.eta_s;
                if (progress) progress(q);
            }, cancel);
            out.output = qs(r.output);
            out.bytes = r.bytes;
            out.seconds = r.seconds;
            out.cancelled = r.cancelled;
        } catch (const std::exception& e) {
            out.error = QString::fromUtf8(e.what());
        }
        return out;
    }

private:
    ModelInfo describe(const QString& path) const {
        const ap::Model& m = *model_;
        ModelInfo info;
        info.path = path;
        // The file name tells models apart better than the metadata name
        // (a GGUF's general.name is often a training-run label).
        info.name = QFileInfo(path).completeBaseName();
        if (info.name.isEmpty()) info.name = qs(m.cfg.name);
        info.format = qs(m.format);
        info.sourceNote = qs(m.source_note);
        info.chatWarning = qs(m.chat_warning);
        info.sourcePath = qs(findSource(m));
        info.anyPrecision = m.any_precision();
        info.seedBits = m.min_bits();
        info.parentBits = m.max_bits();
        info.nParams = m.n_params();
        info.quantRows = quantRows(m);
        info.nCtx = chat_->n_ctx();
        info.nCtxTrain = m.cfg.n_ctx_train;
        info.threads = chat_->threads();
        ModelDetails& d = info.details;
        d.arch = qs(m.cfg.arch);
        d.nLayer = m.cfg.n_layer;
        d.nEmbd = m.cfg.n_embd;
        d.nHead = m.cfg.n_head;
        d.nHeadKv = m.cfg.n_head_kv;
        d.headDim = m.cfg.head_dim;
        d.nFf = m.cfg.n_ff;
        d.nVocab = m.cfg.n_vocab;
        d.ropeTheta = m.cfg.rope_theta;
        d.tiedEmbeddings = m.cfg.tied_embeddings;
        d.slidingWindow = m.cfg.sliding_window;
        d.chatFormat = QString::fromLatin1(ap::chat_format_name(m.chat_format));
        d.chatTemplate = qs(m.chat_template_text);
        const ap::TokenizerData& td = m.tok->data();
        d.tokenizer = QStringLiteral("%1%2, %3 tokens")
                          .arg(td.kind == ap::TokenizerData::Kind::ByteBPE ? QStringLiteral("byte-level BPE")
                                                                           : QStringLiteral("SentencePiece BPE"))
                          .arg(td.kind == ap::TokenizerData::Kind::ByteBPE ? QStringLiteral(" (%1)").arg(qs(td.pretokenizer))
                                                                           : QString())
                          .arg(m.tok->n_vocab());
        if (td.bos_id >= 0) d.bosText = qs(m.tok->token_bytes(td.bos_id, true)) + (td.add_bos ? QString() : QStringLiteral(" (not added)"));
        if (td.eos_id >= 0) d.eosText = qs(m.tok->token_bytes(td.eos_id, true));
        const ap::QuantInfo& q = m.quant;
        d.method = qs(q.method);
        d.sensitivity = qs(q.sensitivity);
        d.sourceFile = qs(q.source_file);
        d.sourceSha256 = qs(q.source_sha256);
        d.calibFile = qs(q.calib_file);
        d.calibSha256 = qs(q.calib_sha256);
        d.toolVersion = qs(q.tool_version);
        d.calibTokens = q.calib_tokens;
        d.anchorBits = q.anchor_bits;
        info.device = QStringLiteral("CPU \u00b7 %1 threads \u00b7 %2").arg(chat_->threads()).arg(QString::fromLatin1(chat_->kernels().name));
        const ap::MemoryReport mem = ap::weight_memory(m);
        info.planeBytes = mem.plane_bytes;
        info.tableBytes = mem.table_bytes;
        info.denseBytes = mem.dense_bytes;
        info.kvBytes = chat_->kv_bytes();
        info.activationBytes = chat_->activation_bytes();
        info.copyBytes = chat_->code_copy_bytes();
        info.copyFrom = chat_->code_copy_from();
        info.copyMaxBytes = chat_->code_copy_max_bytes();
        info.copyShare = chat_->code_copy_share();
        for (int b : m.widths()) {
            WidthInfo w;
            w.bits = b;
            w.bitsPerWeight = ap::bits_per_weight(m, b);
            w.bytesPerToken = ap::bytes_per_token(m, b);
            w.separateBytes = w.bytesPerToken;
            for (const auto& [sb, bytes] : mem.separate_bytes)
                if (sb == b) w.separateBytes = bytes;
            info.widths.append(w);
        }
        return info;
    }

    // Tokens of the evaluation text; with maxWindows only a prefix is tokenized
    // (about 8 bytes per token is a safe margin for English).
    std::vector<int32_t> textTokens(const ap::Model& m, const QString& path, int ctx, int maxWindows) const {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly)) throw EngineError(path.toStdString() + ": cannot read");
        QByteArray bytes = maxWindows > 0 ? f.read(qint64(maxWindows) * ctx * 8) : f.readAll();
        std::vector<int32_t> t = m.tok->encode(std::string_view(bytes.constData(), size_t(bytes.size())), false, false);
        if (maxWindows > 0 && t.size() > size_t(maxWindows) * ctx) t.resize(size_t(maxWindows) * ctx);
        return t;
    }

    // Frees what is loaded, then loads path; on failure nothing is loaded.
    void open(const QString& path, const Progress& progress) {
        chat_.reset();
        model_.reset();
        path_.clear();
        model_ = ap::load_model(path.toStdString(), [&](double f, const std::string& stage) {
            return progress ? progress(f, qs(stage)) : true;
        });
        chat_ = std::make_unique<ap::Session>(*model_, sessionOptions());
        path_ = path;
    }

    ap::SessionOptions sessionOptions() const {
        ap::SessionOptions so;
        so.n_ctx = runtime_.nCtx;  // the session clamps it to the model's training context
        so.threads = runtime_.threads;
        so.kv_cache = runtime_.kvInt8 ? ap::KvCache::Q8 : ap::KvCache::F16;
        so.code_copy_from = runtime_.codeCopy == CodeCopy::Always  ? ap::kCodeCopyAlways
                            : runtime_.codeCopy == CodeCopy::Never ? 0
                                                                   : ap::kCodeCopyAuto;
        return so;
    }

    std::unique_ptr<ap::Model> model_;
    std::unique_ptr<ap::Session> chat_;
    QString path_;  // of the loaded model
    RuntimeSettings runtime_;
};

}  // namespace

std::unique_ptr<EngineBackend> makeRealBackend() { return std::make_unique<RealBackend>(); }

QString validateWithEngine(const QuantizeSettings& s) {
    try {
        ap::validate_quantize_options(convert(s));
        return {};
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
}

}  // namespace studio
