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
    bool stepAt(int bits, TokenOut& out) { return produce(bits, o_.msPerTokenAt8 * widthFactor(bits), -1, out); }
    // One token that costs `ms` (slept here); tokenS >= 0 overrides its
    // reported time (the tokens of a speculative round share the round's time).
    bool produce(int bits, double ms, double tokenS, TokenOut& out) {
        out = TokenOut{};
        if (atEnd()) return false;
        const double before = clock_.nsecsElapsed() / 1e9;
        if (r_.nGenerated == 0) sleepMs(o_.promptMs);
        sleepMs(ms);
        const double now = clock_.nsecsElapsed() / 1e9;
        out.piece = script_[r_.nGenerated];
        out.bits = bits;
        out.elapsedS = now;
        out.tokenS = tokenS >= 0 ? tokenS : now - before;
        out.nPrompt = r_.nPrompt;
        if (r_.nGenerated == 0) { r_.ttftS = now; r_.promptS = o_.promptMs / 1000.0; }
        else r_.decodeS += out.tokenS;
        ++r_.nGenerated;
        return true;
    }
    // True (with the reason set) once the script or the token limit is used up.
    bool atEnd() {
        if (r_.nGenerated >= max_) { r_.reason = StopReason::MaxTokens; return true; }
        if (r_.nGenerated >= script_.size()) { r_.reason = StopReason::Eos; return true; }
        return false;
    }
    int generated() const { return r_.nGenerated; }
    int remaining() const { return int(qMin<qsizetype>(max_, script_.size())) - r_.nGenerated; }
    void addRound(int proposed, int accepted) {
        ++r_.rounds;
        r_.drafted += proposed;
        r_.accepted += accepted;
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

namespace {

double tokenMs(const FakeBackendOptions& o, int bits) { return o.msPerTokenAt8 * widthFactor(bits); }

// Deterministic stand-in for "does the verifying width agree with this
// draft": a fixed pseudo-random sequence (from the sampling seed) against an
// acceptance probability that falls as the two widths move apart.
class FakeJudge {
public:
    explicit FakeJudge(quint64 seed) : x_(seed * 2654435761u + 12345u) {}
    bool agrees(int bits, int draftBits) {
        x_ = x_ * 6364136223846793005ull + 1442695040888963407ull;
        const double u = double(x_ >> 11) / double(1ull << 53);
        const double p = qBound(0.3, 1.0 - 0.04 * (bits - draftBits), 0.95);
        return u < p;
    }

private:
    quint64 x_;
};

// The engine's deadline rule on a virtual clock (the nominal cost of every
// width), so the widths a test sees do not depend on how busy the machine is.
int autoWidth(const FakeBackendOptions& o, int seed, int cap, double targetTps, double decodedMs, int nDecoded) {
    const double deadlineMs = 1000.0 * (nDecoded + 1) / targetTps;
    for (int b = cap; b > seed; --b)
        if (decodedMs + tokenMs(o, b) <= deadlineMs) return b;
    return seed;
}

}  // namespace
void FakeBackend::applyRuntime() {
    if (!info_.isValid()) return;
    info_.nCtx = qBound(16, runtime_.nCtx, info_.nCtxTrain);
    info_.threads = runtime_.threads > 0 ? runtime_.threads : 4;
    info_.device = QStringLiteral("CPU (fake engine) \u00b7 %1 threads").arg(info_.threads);
    info_.kvBytes = 2ull * 30 * quint64(info_.nCtx) * 192 * 4;
    // As the engine resolves it for a small model on copy-reading kernels: Automatic keeps one.
    info_.copyFrom = runtime_.codeCopy == CodeCopy::Never ? 0 : 3;
    info_.copyMaxBytes = info_.copyFrom ? 140ull << 20 : 0;
    info_.copyShare = info_.copyFrom ? 1.0 : 0.0;
}

ModelInfo FakeBackend::configure(const RuntimeSettings& r) {
    runtime_ = r;
    applyRuntime();
    return info_;
}

int FakeBackend::countTokens(const QList<ChatTurn>& turns) { return info_.isValid() ? promptTokens(turns) : -1; }

BackendResult FakeBackend::generate(const GenerationRequest& req, const TokenSink& onToken) {
    // The engine's own refusals, with its wording, so the GUI meets them in tests too.
    if (req.draftBits > 0 && req.targetTps > 0)
        throw EngineError("a latency target and speculative decoding cannot be combined");
    if (req.draftBits > 0 && !info_.anyPrecision)
        throw EngineError("speculative decoding needs an any-precision checkpoint (one model, several widths)");
    if (req.targetTps > 0 && !info_.anyPrecision)
        throw EngineError("a latency target needs an any-precision checkpoint (several widths to choose from)");
    FakeStream stream(opt_, opt_.script, req.sampling.maxTokens, promptTokens(req.turns), req.bits);
    const int cap = req.bits <= 0 ? info_.parentBits : qBound(info_.seedBits, req.bits, info_.parentBits);
    FakeJudge judge(req.sampling.seed);
    int k = 4;              // drafts per round, adapted like the engine's
    double decodedMs = 0;   // virtual decode time for the latency target
    TokenOut t;
    for (;;) {
        if (req.controls->cancel.load()) { stream.setCancelled(); break; }
        // The width may change between tokens: read it before every one.
        int bits = req.controls->liveBits.load();
        if (req.targetTps > 0) {
            bits = stream.generated() == 0 ? cap
                                           : autoWidth(opt_, info_.seedBits, cap, req.targetTps, decodedMs,
                                                       stream.generated() - 1);
            if (stream.generated() > 0) decodedMs += tokenMs(opt_, bits);
        }
        const int room = qMin(k, stream.remaining() - 1);
        if (stream.generated() == 0 || req.draftBits <= 0 || req.draftBits >= bits || room < 1) {
            if (!stream.stepAt(bits, t)) break;
            onToken(t);
            continue;
        }
        // A speculative round: `room` drafts, accepted while the verifier agrees,
        // then the verifier's own token; one draft pass each plus one verify pass.
        int accepted = 0;
        while (accepted < room && judge.agrees(bits, req.draftBits)) ++accepted;
        const double roundMs = room * tokenMs(opt_, req.draftBits) + 1.1 * tokenMs(opt_, bits);
        const int n = accepted + 1;
        stream.addRound(room, accepted);
        sleepMs(roundMs);
        bool more = true;
        for (int i = 0; i < n && more; ++i) {
            more = stream.produce(bits, 0, roundMs / 1000.0 / n, t);
            if (!more) break;
            t.drafted = i < accepted;
            if (i == n - 1) {
                t.roundAccepted = accepted;
                t.roundProposed = room;
            }
            onToken(t);
        }
        if (!more) break;
        if (accepted == room && room == k) k = qMin(15, k + 2);
        else if (accepted < room) k = qMax(1, k - 1);
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
