// Lives on the engine thread (moveToThread) and owns the backend. The GUI
// reaches it only through queued slots; it answers with numbers and new text
// pieces only, never with formatted strings or the whole response again.
#pragma once
#include "engine_backend.h"

#include <QObject>

namespace studio {

class EngineWorker : public QObject {
    Q_OBJECT
public:
    explicit EngineWorker(BackendFactory factory, QObject* parent = nullptr);
    ~EngineWorker() override;

public slots:
    void loadModel(const QString& path);
    void generate(const studio::GenerationRequest& req);
    void compare(const studio::CompareRequest& req);
    void computePerplexity(const studio::PerplexityRequest& req);
    void quantize(const studio::QuantizeJob& job);
    void configure(const studio::RuntimeSettings& r);
    void countTokens(quint64 id, const QList<studio::ChatTurn>& turns);

signals:
    void loadProgress(double fraction, const QString& stage);
    void modelLoaded(const studio::ModelInfo& info);
    void loadFailed(const QString& path, const QString& error);

    void tokenReady(quint64 id, const QString& piece, const studio::TokenStats& stats);
    void generationFinished(quint64 id, const studio::GenerationSummary& summary);
    void generationFailed(quint64 id, const QString& error);

    void compareToken(quint64 id, int column, const QString& piece, const studio::TokenStats& stats);
    void compareColumnFinished(quint64 id, int column, const studio::GenerationSummary& summary);
    void compareFinished(quint64 id, const QString& error);

    void perplexityProgress(quint64 id, int bits, double fraction);
    void perplexityReady(quint64 id, int bits, double ppl, qint64 nScored);
    void perplexityFinished(quint64 id, const QString& error);

    void quantizeProgress(const studio::QuantizeProgressInfo& p);
    void quantizeFinished(const studio::QuantizeOutcome& outcome);

    void configured(const studio::ModelInfo& info, const QString& error);
    void tokensCounted(quint64 id, int tokens, int contextLength);

private:
    EngineBackend& backend();  // created lazily, on the engine thread
    // One window of the running measurement per call; it posts itself again,
    // so requests queued meanwhile (a chat turn) run between two windows.
    void perplexityStep();
    void endPerplexity(const QString& error);

    BackendFactory factory_;
    std::unique_ptr<EngineBackend> backend_;
    PerplexityRequest ppl_;                  // the measurement under way (id 0: none)
    int pplIndex_ = 0;                       // into ppl_.widths
    std::unique_ptr<PerplexityJob> pplJob_;  // the width being scored
};

// Decode speed over the last few tokens, so the plot shows changes after a
// width switch quickly instead of a whole-response average.
class SpeedMeter {
public:
    void add(double tokenS);
    double tokensPerSecond() const;
    void reset() { n_ = 0; sum_ = 0; head_ = 0; }
private:
    static constexpr int kWindow = 8;
    double ring_[kWindow] = {};
    int n_ = 0, head_ = 0;
    double sum_ = 0;
};

GenerationSummary summarize(const BackendResult& r, double totalS);

// The context rule the chat panel states: when the conversation does not fit
// the context with room for the answer, the oldest messages (after the system
// prompt) are left out, a question and its answer together, never the new
// question. Returns how many messages were dropped; `turns` is trimmed.
int fitToContext(QList<ChatTurn>& turns, int contextLength, int reserve,
                 const std::function<int(const QList<ChatTurn>&)>& count);

}  // namespace studio
