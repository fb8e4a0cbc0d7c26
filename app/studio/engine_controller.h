// GUI-thread face of the engine: owns the engine QThread and its worker,
// forwards requests as queued signals and keeps the per-request atomics
// (cancel, live width) that the decode loop polls.
#pragma once
#include "engine_worker.h"

#include <QObject>
#include <QThread>

namespace studio {

class EngineController : public QObject {
    Q_OBJECT
public:
    explicit EngineController(BackendFactory factory, QObject* parent = nullptr);
    ~EngineController() override;

    const ModelInfo& model() const { return model_; }
    bool isLoading() const { return loading_; }
    bool isGenerating() const { return activeChat_ != 0; }
    bool isQuantizing() const { return quantizing_; }

    void loadModel(const QString& path);
    // Starts a chat turn at `bits`; returns its id (tokens arrive with it).
    // draftBits > 0: self-speculative decoding; targetTps > 0: the engine picks widths up to `bits`.
    quint64 generate(const QList<ChatTurn>& turns, const SamplingSettings& s, int bits, int draftBits = 0,
                     double targetTps = 0);
    quint64 compare(const QList<ChatTurn>& turns, const SamplingSettings& s, const QList<int>& widths);
    quint64 computePerplexity(const QString& textPath, const QList<int>& widths, bool includeSource, int maxWindows);
    void quantize(const QuantizeSettings& s);
    // Engine settings: applied to the loaded model at once (no reload) and to later loads.
    void configure(const RuntimeSettings& r);
    const RuntimeSettings& runtime() const { return runtime_; }
    // Counts the prompt tokens of `turns`; the answer comes as tokensCounted(id, ...).
    quint64 countTokens(const QList<ChatTurn>& turns);

    // Takes effect at the next token of the running generation (and later ones).
    void setLiveBits(int bits);
    void stopGeneration();   // the chat turn
    void stopCompare();
    void cancelPerplexity();
    void cancelQuantize();

    EngineWorker* worker() const { return worker_; }

signals:
    // Requests to the worker (queued: the worker lives on the engine thread).
    void requestLoad(const QString& path);
    void requestGenerate(const studio::GenerationRequest& req);
    void requestCompare(const studio::CompareRequest& req);
    void requestPerplexity(const studio::PerplexityRequest& req);
    void requestQuantize(const studio::QuantizeJob& job);
    void requestConfigure(const studio::RuntimeSettings& r);
    void requestCount(quint64 id, const QList<studio::ChatTurn>& turns);

    // Re-emitted on the GUI thread, after the controller updated its state.
    void modelChanged(const studio::ModelInfo& info);
    void loadProgress(double fraction, const QString& stage);
    void loadFailed(const QString& path, const QString& error);
    void generationFinished(quint64 id, const studio::GenerationSummary& summary);
    void generationFailed(quint64 id, const QString& error);
    void busyChanged(bool generating);
    void tokenReady(quint64 id, const QString& piece, const studio::TokenStats& stats);
    void compareToken(quint64 id, int column, const QString& piece, const studio::TokenStats& stats);
    void compareColumnFinished(quint64 id, int column, const studio::GenerationSummary& summary);
    void compareFinished(quint64 id, const QString& error);
    void perplexityProgress(quint64 id, int bits, double fraction);
    void perplexityReady(quint64 id, int bits, double ppl, qint64 nScored);
    void perplexityFinished(quint64 id, const QString& error);
    void quantizeProgress(const studio::QuantizeProgressInfo& p);
    void quantizeFinished(const studio::QuantizeOutcome& outcome);
    // The loaded model with new engine settings (context, threads): same model, new session.
    void runtimeChanged(const studio::ModelInfo& info);
    void configureFailed(const QString& error);
    void tokensCounted(quint64 id, int tokens, int contextLength);

private:
    void onModelLoaded(const ModelInfo& info);
    void onChatEnded(quint64 id);

    QThread thread_;
    EngineWorker* worker_ = nullptr;
    ModelInfo model_;
    bool loading_ = false;
    bool quantizing_ = false;
    quint64 nextId_ = 1;
    quint64 activeChat_ = 0;
    std::shared_ptr<GenerationControls> chatControls_, compareControls_, pplControls_, quantControls_;
    int liveBits_ = 0;
    RuntimeSettings runtime_;
};

}  // namespace studio
