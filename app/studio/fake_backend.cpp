#include "fake_backend.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QSaveFile>
#include <QThread>

#include <cmath>

namespace studio {

namespace {

const QStringList& defaultScript() {
    static const QStringList s = [] {
        QStringList out;
        const QString text = QStringLiteral(
            "Any-precision models keep one parent copy of the weights. Every lower width reads only the top "
            "bitplanes, so switching precision costs nothing and lower widths decode faster, because decoding "
            "is bound by memory bandwidth. Quality drops slowly from eight bits down to four and faster below.");
        // Word-sized pieces with their leading space, like a BPE tokenizer produces.
        for (const QString& w : text.split(QLatin1Char(' '))) out << (out.isEmpty() ? w : QLatin1Char(' ') + w);
        return out;
    }();
    return s;
}

void sleepMs(double ms) {
    if (ms > 0) QThread::usleep(static_cast<unsigned long>(ms * 1000));
}

double widthFactor(int bits) { return (bits <= 0 ? 16.0 : bits + 1.0) / 9.0; }

// One scripted answer at a fixed width; shared by generate() and comparison streams.
class FakeStream : public TokenStream {
public:
    FakeStream(const FakeBackendOptions& o, QStringList script, int maxTokens, int nPrompt, int bits)
        : o_(o), script_(std::move(script)), max_(maxTokens), bits_(bits) {
        r_.nPrompt = r_.nPromptEvaluated = nPrompt;
        clock_.start();
    }
    bool step(TokenOut& out) override { return stepAt(bits_, out); }
    bool stepAt(int bits, TokenOut& out) {
        if (r_.nGenerated >= max_) { r_.reason = StopReason::MaxTokens; return false; }
        if (r_.nGenerated >= script_.size()) { r_.reason = StopReason::Eos; return false; }
        const double before = clock_.nsecsElapsed() / 1e9;
        if (r_.nGenerated == 0) sleepMs(o_.promptMs);
        sleepMs(o_.msPerTokenAt8 * widthFactor(bits));
        const double now = clock_.nsecsElapsed() / 1e9;
        out.piece = script_[r_.nGenerated];
        out.bits = bits;
        out.elapsedS = now;
        out.tokenS = now - before;
        out.nPrompt = r_.nPrompt;
        if (r_.nGenerated == 0) { r_.ttftS = now; r_.promptS = o_.promptMs / 1000.0; }
        else r_.decodeS += out.tokenS;
        ++r_.nGenerated;
        return true;
    }
    BackendResult result() const override { return r_; }
    void setCancelled() { r_.reason = StopReason::Cancelled; }

private:
    const FakeBackendOptions& o_;
    QStringList script_;
    int max_;
    int bits_;
    BackendResult r_;
    QElapsedTimer clock_;
};

int promptTokens(const QList<ChatTurn>& turns) {
    int n = 4;
    for (const auto& t : turns) n += 4 + int(t.content.size() / 4);
    return n;
}

}  // namespace

FakeBackend::FakeBackend(FakeBackendOptions opt) : opt_(std::move(opt)) {
    if (opt_.script.isEmpty()) opt_.script = defaultScript();
}

ModelInfo FakeBackend::fakeModelInfo(const QString& path) {
    ModelInfo m;
    m.path = path;
    m.name = QFileInfo(path).completeBaseName();
    m.device = QStringLiteral("CPU (fake engine)");
    m.nParams = 134515008;
    m.quantRows = 30 * (576 * 2 + 192 * 2 + 1536 * 2 + 576) + 49152;
    m.nCtx = 2048;
    m.nCtxTrain = 8192;
    m.threads = 4;
    ModelDetails& d = m.details;
    d.arch = QStringLiteral("llama");
    d.nLayer = 30;
    d.nEmbd = 576;
    d.nHead = 9;
    d.nHeadKv = 3;
    d.headDim = 64;
    d.nFf = 1536;
    d.nVocab = 49152;
    d.ropeTheta = 100000;
    d.tiedEmbeddings = true;
    d.chatFormat = QStringLiteral("chatml");
    d.chatTemplate = QStringLiteral("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}");
    d.tokenizer = QStringLiteral("byte-level BPE (smollm), 49152 tokens");
    d.bosText = QStringLiteral("<|im_start|>");
    d.eosText = QStringLiteral("<|im_end|>");
    const bool dense = path.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive);
    m.kvBytes = 2ull * 30 * 2048 * 192 * 4;
    m.activationBytes = 6ull << 20;
    if (dense) {
        m.format = QStringLiteral("gguf");
        m.sourceNote = QStringLiteral("GGUF Q4_1 source (dequantized to fp32)");
        m.denseBytes = quint64(m.nParams) * 4;
        m.widths.append(WidthInfo{0, 32.0, m.denseBytes, m.denseBytes});
        return m;
    }
    m.format = QStringLiteral("anyprec");
    m.anyPrecision = true;
    m.seedBits = 3;
    m.parentBits = 8;
    m.sourcePath = QStringLiteral("SmolLM2-135M-Instruct.Q4_1.gguf");
    m.sourceNote = QStringLiteral("quantized from a GGUF Q4_1 source");
    d.method = QStringLiteral("anyprec");
    d.sensitivity = QStringLiteral("act");
    d.sourceFile = m.sourcePath;
    d.sourceSha256 = QStringLiteral("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    d.calibFile = QStringLiteral("wikitext2-train.txt");
    d.calibTokens = 16384;
    d.anchorBits = 3;
    d.toolVersion = QStringLiteral("0.1.0");
    const quint64 weights = quint64(m.nParams);
    m.planeBytes = weights * 8 / 8;
    quint64 tableTotal = 0;
    for (int b = 3; b <= 8; ++b) tableTotal += quint64(m.quantRows) * (1u << b);
    m.tableBytes = tableTotal;
    m.denseBytes = 30ull * 576 * 2 * 4 + 576 * 4;
    for (int b = 3; b <= 8; ++b) {
        const quint64 tables = quint64(m.quantRows) * (1u << b);
        const quint64 sep = weights * b / 8 + tables + m.denseBytes;
        m.widths.append(WidthInfo{b, double(weights * b + tables * 8) / double(weights), sep, sep});
    }
    return m;
}

ModelInfo FakeBackend::loadModel(const QString& path, const Progress& progress) {
    if (path.isEmpty() || path.contains(QLatin1String("missing")))
        throw EngineError((path.isEmpty() ? QStringLiteral("(empty path)") : path).toStdString() +
                          ": no such file or directory");
    for (int i = 0; i <= 10; ++i) {
        if (progress) progress(i / 10.0, QStringLiteral("loading tensors"));
        sleepMs(opt_.promptMs / 3);
    }
    info_ = fakeModelInfo(path);
    applyRuntime();
    return info_;
}

void FakeBackend::applyRuntime() {
    if (!info_.isValid()) return;
    info_.nCtx = qBound(16, runtime_.nCtx, info_.nCtxTrain);
    info_.threads = runtime_.threads > 0 ? runtime_.threads : 4;
    info_.device = QStringLiteral("CPU (fake engine) \u00b7 %1 threads").arg(info_.threads);
    info_.kvBytes = 2ull * 30 * quint64(info_.nCtx) * 192 * 4;
}

ModelInfo FakeBackend::configure(const RuntimeSettings& r) {
    runtime_ = r;
    applyRuntime();
    return info_;
}

int FakeBackend::countTokens(const QList<ChatTurn>& turns) { return info_.isValid() ? promptTokens(turns) : -1; }

BackendResult FakeBackend::generate(const GenerationRequest& req, const TokenSink& onToken) {
    FakeStream stream(opt_, opt_.script, req.sampling.maxTokens, promptTokens(req.turns), req.bits);
    TokenOut t;
    for (;;) {
        if (req.controls->cancel.load()) { stream.setCancelled(); break; }
        // The width may change between tokens: read it before every one.
        int bits = req.controls->liveBits.load();
        if (!stream.stepAt(bits, t)) break;
        onToken(t);
    }
    BackendResult r = stream.result();
    r.kvBytes = quint64(r.nPrompt + r.nGenerated) * 2 * 30 * 192 * 4;
    r.activationBytes = info_.activationBytes;
    return r;
}

std::unique_ptr<TokenStream> FakeBackend::openStream(const QList<ChatTurn>& turns, const SamplingSettings& s,
                                                     int bits) {
    return std::make_unique<FakeStream>(opt_, opt_.script, s.maxTokens, promptTokens(turns), bits);
}

namespace {
// Made-up but monotone perplexities, one scripted window per step.
class FakePerplexityJob : public PerplexityJob {
public:
    FakePerplexityJob(int bits, int ctx, int windows, double msPerWindow)
        : bits_(bits), ctx_(ctx), windows_(windows), ms_(msPerWindow) {}
    bool step() override {
        if (done_ >= windows_) return false;
        sleepMs(ms_);
        ++done_;
        return done_ < windows_;
    }
    double fraction() const override { return double(done_) / windows_; }
    double perplexity() const override {
        const int b = bits_ <= 0 ? 16 : bits_;  // source and dense: the best the model can do
        return 18.2 + 40.0 * std::exp(-1.1 * (b - 2));
    }
    qint64 nScored() const override { return qint64(done_) * (ctx_ - 1); }

private:
    int bits_, ctx_, windows_;
    double ms_;
    int done_ = 0;
};
}  // namespace

std::unique_ptr<PerplexityJob> FakeBackend::openPerplexity(const QString& textPath, int bits, int ctx,
                                                           int maxWindows) {
    if (!QFileInfo::exists(textPath)) throw EngineError(textPath.toStdString() + ": no such file");
    return std::make_unique<FakePerplexityJob>(bits, ctx, maxWindows > 0 ? maxWindows : 4,
                                               opt_.msPerPerplexityWindow >= 0 ? opt_.msPerPerplexityWindow
                                                                               : opt_.msPerTokenAt8);
}

QuantizeOutcome FakeBackend::quantize(const QuantizeSettings& s, const QuantizeSink& progress,
                                      const std::atomic<bool>* cancel) {
    QuantizeOutcome out;
    out.output = s.output;
    if (!QFileInfo::exists(s.source)) throw EngineError(s.source.toStdString() + ": no such file");
    QElapsedTimer clock;
    clock.start();
    // QSaveFile writes to a temporary and renames only on commit(): a
    // cancelled run leaves nothing at the output path.
    QSaveFile file(s.output);
    if (!file.open(QIODevice::WriteOnly)) throw EngineError(s.output.toStdString() + ": cannot write");
    for (int i = 0; i < opt_.quantizeSteps; ++i) {
        if (cancel && cancel->load()) {
            file.cancelWriting();
            out.cancelled = true;
            out.seconds = clock.elapsed() / 1000.0;
            return out;
        }
        sleepMs(opt_.quantizeStepMs);
        file.write(QByteArray(1024, char(i)));
        QuantizeProgressInfo p;
        p.step = i + 1;
        p.nSteps = opt_.quantizeSteps;
        p.fraction = double(i + 1) / opt_.quantizeSteps;
        p.stage = i == 0 ? QStringLiteral("calibrating") : QStringLiteral("quantizing");
        p.tensor = QStringLiteral("model.layers.%1.mlp.down_proj.weight").arg(i);
        p.elapsedS = clock.elapsed() / 1000.0;
        p.etaS = p.elapsedS / p.fraction - p.elapsedS;
        if (progress) progress(p);
    }
    if (!file.commit()) throw EngineError(s.output.toStdString() + ": write failed");
    out.bytes = quint64(QFileInfo(s.output).size());
    out.seconds = clock.elapsed() / 1000.0;
    return out;
}

}  // namespace studio
