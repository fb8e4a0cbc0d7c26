#include "engine_worker.h"

#include <QElapsedTimer>

#include <exception>
#include <vector>

namespace studio {

void SpeedMeter::add(double tokenS) {
    if (n_ == kWindow) sum_ -= ring_[head_];
    else ++n_;
    ring_[head_] = tokenS;
    sum_ += tokenS;
    head_ = (head_ + 1) % kWindow;
}

double SpeedMeter::tokensPerSecond() const { return sum_ > 0 ? n_ / sum_ : 0; }

GenerationSummary summarize(const BackendResult& r, double totalS) {
    GenerationSummary s;
    s.reason = r.reason;
    s.nPrompt = r.nPrompt;
    s.nGenerated = r.nGenerated;
    s.ttftS = r.ttftS;
    s.decodeTokensPerSecond = r.decodeS > 0 && r.nGenerated > 1 ? (r.nGenerated - 1) / r.decodeS : 0;
    s.promptTokensPerSecond = r.promptS > 0 ? r.nPromptEvaluated / r.promptS : 0;
    s.totalS = totalS;
    s.kvBytes = r.kvBytes;
    s.activationBytes = r.activationBytes;
    s.copyBytes = r.copyBytes;
    s.rounds = r.rounds;
    s.drafted = r.drafted;
    s.accepted = r.accepted;
    s.droppedMessages = r.droppedMessages;
    s.contextTokens = r.nPrompt + r.nGenerated;
    return s;
}

int fitToContext(QList<ChatTurn>& turns, int contextLength, int reserve,
                 const std::function<int(const QList<ChatTurn>&)>& count) {
    int dropped = 0;
    const int first = !turns.isEmpty() && turns.first().role == QLatin1String("system") ? 1 : 0;
    // Keep at least the new question (the last turn).
    while (turns.size() - first > 1 && count(turns) + reserve > contextLength) {
        turns.removeAt(first);
        ++dropped;
        // An answer without its question would confuse the model: drop it too.
        if (turns.size() - first > 1 && turns[first].role == QLatin1String("assistant")) {
            turns.removeAt(first);
            ++dropped;
        }
    }
    return dropped;
}

namespace {
// Turns the backend's per-token timings into the numbers the GUI shows.
struct StatsTracker {
    SpeedMeter meter;
    TokenStats stats;
    bool first = true;
    const TokenStats& add(const TokenOut& t) {
        stats.bits = t.bits;
        stats.elapsedS = t.elapsedS;
        stats.tokenS = t.tokenS;
        stats.nPrompt = t.nPrompt;
        stats.drafted = t.drafted;
        stats.roundAccepted = t.roundAccepted;
        stats.roundProposed = t.roundProposed;
        if (first) {
            // The first token's time is the prompt plus one decode step.
            stats.ttftS = t.elapsedS;
            stats.promptTokensPerSecond = t.elapsedS > 0 ? t.nPrompt / t.elapsedS : 0;
        } else {
            meter.add(t.tokenS);
        }
        stats.tokensPerSecond = meter.tokensPerSecond();
        stats.index = first ? 0 : stats.index + 1;
        first = false;
        return stats;
    }
};
}  // namespace

EngineWorker::EngineWorker(BackendFactory factory, QObject* parent) : QObject(parent), factory_(std::move(factory)) {}

EngineWorker::~EngineWorker() = default;

EngineBackend& EngineWorker::backend() {
    if (!backend_) backend_ = factory_();
    return *backend_;
}

void EngineWorker::loadModel(const QString& path) {
    // A paused measurement holds a session over the old model: end it first.
    if (ppl_.id != 0) endPerplexity(QStringLiteral("cancelled: another model was opened"));
    try {
        ModelInfo info = backend().loadModel(path, [this](double f, const QString& stage) {
            emit loadProgress(f, stage);
            return true;
        });
        emit modelLoaded(info);
    } catch (const std::exception& e) {
        emit loadFailed(path, QString::fromUtf8(e.what()));
    }
}

void EngineWorker::generate(const GenerationRequest& req) {
    QElapsedTimer clock;
    clock.start();
    try {
        if (!backend().hasModel()) throw EngineError("no model is loaded");
        if (req.controls->cancel.load()) {  // stopped before it started
            GenerationSummary s;
            s.reason = StopReason::Cancelled;
            emit generationFinished(req.id, s);
            return;
        }
        StatsTracker tracker;
        GenerationRequest fitted = req;
        const int ctx = backend().contextLength();
        // Room for the answer: what was asked for, at most half the context.
        const int reserve = qMin(req.sampling.maxTokens, ctx / 2);
        const int dropped = fitToContext(fitted.turns, ctx, reserve,
                                         [this](const QList<ChatTurn>& t) { return backend().countTokens(t); });
        BackendResult r = backend().generate(fitted, [&](const TokenOut& t) {
            emit tokenReady(req.id, t.piece, tracker.add(t));
        });
        r.droppedMessages = dropped;
        emit generationFinished(req.id, summarize(r, clock.elapsed() / 1000.0));
    } catch (const std::exception& e) {
        emit generationFailed(req.id, QString::fromUtf8(e.what()));
    }
}

void EngineWorker::compare(const CompareRequest& req) {
    struct Column {
        std::unique_ptr<TokenStream> stream;
        StatsTracker tracker;
        QElapsedTimer clock;
        bool done = false;
    };
    try {
        if (!backend().hasModel()) throw EngineError("no model is loaded");
        std::vector<Column> cols(req.widths.size());
        for (int i = 0; i < req.widths.size(); ++i) {
            cols[i].stream = backend().openStream(req.turns, req.sampling, req.widths[i]);
            cols[i].clock.start();
        }
        // Interleave token by token so every column visibly streams at its own speed.
        int live = int(cols.size());
        while (live > 0) {
            for (int i = 0; i < int(cols.size()); ++i) {
                Column& c = cols[i];
                if (c.done) continue;
                TokenOut t;
                bool more = !req.controls->cancel.load() && c.stream->step(t);
                if (more) {
                    emit compareToken(req.id, i, t.piece, c.tracker.add(t));
                    continue;
                }
                c.done = true;
                --live;
                BackendResult r = c.stream->result();
                if (req.controls->cancel.load()) r.reason = StopReason::Cancelled;
                emit compareColumnFinished(req.id, i, summarize(r, c.clock.elapsed() / 1000.0));
            }
        }
        emit compareFinished(req.id, QString());
    } catch (const std::exception& e) {
        emit compareFinished(req.id, QString::fromUtf8(e.what()));
    }
}

void EngineWorker::computePerplexity(const PerplexityRequest& req) {
    if (ppl_.id != 0) endPerplexity(QStringLiteral("replaced by a new measurement"));
    ppl_ = req;
    pplIndex_ = 0;
    pplJob_.reset();
    perplexityStep();
}

void EngineWorker::perplexityStep() {
    if (ppl_.id == 0) return;  // ended meanwhile (a model load)
    if (ppl_.controls->cancel.load()) return endPerplexity(QStringLiteral("cancelled"));
    try {
        if (!pplJob_) {
            if (pplIndex_ >= ppl_.widths.size()) return endPerplexity(QString());
            if (!backend().hasModel()) throw EngineError("no model is loaded");
            pplJob_ = backend().openPerplexity(ppl_.textPath, ppl_.widths[pplIndex_], ppl_.ctx, ppl_.maxWindows);
        }
        const int bits = ppl_.widths[pplIndex_];
        const bool more = pplJob_->step();
        emit perplexityProgress(ppl_.id, bits, pplJob_->fraction());
        if (!more) {
            emit perplexityReady(ppl_.id, bits, pplJob_->perplexity(), pplJob_->nScored());
            pplJob_.reset();
            ++pplIndex_;
        }
    } catch (const std::exception& e) {
        return endPerplexity(QString::fromUtf8(e.what()));
    }
    QMetaObject::invokeMethod(this, &EngineWorker::perplexityStep, Qt::QueuedConnection);
}

void EngineWorker::endPerplexity(const QString& error) {
    const quint64 id = ppl_.id;
    pplJob_.reset();
    ppl_ = {};
    if (id) emit perplexityFinished(id, error);
}

void EngineWorker::configure(const RuntimeSettings& r) {
    try {
        emit configured(backend().configure(r), QString());
    } catch (const std::exception& e) {
        emit configured(ModelInfo{}, QString::fromUtf8(e.what()));
    }
}

void EngineWorker::countTokens(quint64 id, const QList<ChatTurn>& turns) {
    try {
        emit tokensCounted(id, backend().countTokens(turns), backend().contextLength());
    } catch (const std::exception&) {
        emit tokensCounted(id, -1, backend().contextLength());
    }
}

void EngineWorker::quantize(const QuantizeJob& job) {
    QuantizeOutcome out;
    try {
        out = backend().quantize(job.settings, [this](const QuantizeProgressInfo& p) { emit quantizeProgress(p); },
                                 &job.controls->cancel);
    } catch (const std::exception& e) {
        out.output = job.settings.output;
        out.error = QString::fromUtf8(e.what());
    }
    emit quantizeFinished(out);
}

}  // namespace studio
