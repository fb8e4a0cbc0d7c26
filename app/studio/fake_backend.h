// A scripted engine for UI tests, demos and screenshots: streams canned
// tokens at a speed that depends on the width, reports made-up but
// plausible numbers for a SmolLM2-135M-sized any-precision model.
#pragma once
#include "engine_backend.h"

#include <QStringList>

namespace studio {

struct FakeBackendOptions {
    QStringList script;       // pieces of every answer; empty = a built-in reply
    double msPerTokenAt8 = 20;
    double msPerPerplexityWindow = -1;  // < 0: msPerTokenAt8  // decode time of one token at 8 bits (lower widths are faster)
    double promptMs = 30;
    int quantizeSteps = 12;
    double quantizeStepMs = 40;
};

class FakeBackend : public EngineBackend {
public:
    explicit FakeBackend(FakeBackendOptions opt = {});

    ModelInfo loadModel(const QString& path, const Progress& progress) override;
    bool hasModel() const override { return info_.isValid(); }
    ModelInfo configure(const RuntimeSettings& r) override;
    int countTokens(const QList<ChatTurn>& turns) override;
    int contextLength() const override { return info_.isValid() ? info_.nCtx : 0; }
    BackendResult generate(const GenerationRequest& req, const TokenSink& onToken) override;
    std::unique_ptr<TokenStream> openStream(const QList<ChatTurn>& turns, const SamplingSettings& s,
                                            int bits) override;
    std::unique_ptr<PerplexityJob> openPerplexity(const QString& textPath, int bits, int ctx,
                                                  int maxWindows) override;
    QuantizeOutcome quantize(const QuantizeSettings& s, const QuantizeSink& progress,
                             const std::atomic<bool>* cancel) override;

    // The model info the fake reports for any path (any-precision 3..8 unless the path ends in .gguf).
    static ModelInfo fakeModelInfo(const QString& path);
    const FakeBackendOptions& options() const { return opt_; }

private:
    void applyRuntime();
    FakeBackendOptions opt_;
    ModelInfo info_;
    RuntimeSettings runtime_;
};

}  // namespace studio
