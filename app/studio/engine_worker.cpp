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
    s.rounds = r.rounds;
    s.drafted = r.drafted;
    s.accepted = r.accepted;
    return s;
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
        BackendResult r = backend().generate(req, [&](const TokenOut& t) {
            emit tokenReady(req.id, t.piece, tracker.add(t));
        });
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
    try {
        if (!backend().hasModel()) throw EngineError("no model is loaded");
        for (int bits : req.widths) {
            if (req.controls->cancel.load()) break;
            qint64 nScored = 0;
            double ppl = backend().perplexity(req.textPath, bits, req.ctx, req.maxWindows,
                                              [&](double f, const QString&) {
                                                  emit perplexityProgress(req.id, bits, f);
                                                  return !req.controls->cancel.load();
                                              },
                                              &nScored);
            if (req.controls->cancel.load()) break;
            emit perplexityReady(req.id, bits, ppl, nScored);
        }
        emit perplexityFinished(req.id, req.controls->cancel.load() ? QStringLiteral("cancelled") : QString());
    } catch (const std::exception& e) {
        emit perplexityFinished(req.id, QString::fromUtf8(e.what()));
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
