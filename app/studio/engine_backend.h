// The engine as the studio sees it: synchronous calls made only on the engine
// thread by EngineWorker. The real adapter wraps ap::; FakeBackend scripts
// tokens so UI tests run without a model.
#pragma once
#include "studio_types.h"

#include <functional>
#include <memory>
#include <stdexcept>

namespace studio {

// Failures the user can cause (bad file, bad option); the message is shown as is.
struct EngineError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One generated token as the backend hands it over.
struct TokenOut {
    QString piece;     // new complete UTF-8 text (may be empty)
    int bits = 0;
    double elapsedS = 0, tokenS = 0;
    int nPrompt = 0;  // prompt tokens evaluated for this request (known from the first token on)
    bool drafted = false;   // speculative: an accepted draft token
    int roundAccepted = -1;  // speculative: on a round's last token, drafts accepted in the round
    int roundProposed = 0;   // ... and drafts proposed in it
};

// What every finished generation reports, whatever stopped it.
struct BackendResult {
    StopReason reason = StopReason::MaxTokens;
    int droppedMessages = 0;  // set by the worker when it trimmed the conversation
    int nPrompt = 0, nPromptEvaluated = 0, nGenerated = 0;
    double promptS = 0, decodeS = 0, ttftS = 0;
    quint64 kvBytes = 0, activationBytes = 0, copyBytes = 0;
    int rounds = 0, drafted = 0, accepted = 0;  // speculative decoding totals
};

// Stepwise generation for side-by-side comparison: the worker interleaves
// several streams token by token on the one engine thread.
class TokenStream {
public:
    virtual ~TokenStream() = default;
    // Produces the next token; false when the stream has ended (see result()).
    virtual bool step(TokenOut& out) = 0;
    virtual BackendResult result() const = 0;
};

// One perplexity measurement at one width, scored a window at a time so the
// worker can answer a chat turn between two windows (a measurement of every
// width takes minutes; the chat must not wait for all of it).
class PerplexityJob {
public:
    virtual ~PerplexityJob() = default;
    // Scores the next window; false once every window is scored.
    virtual bool step() = 0;
    virtual double fraction() const = 0;  // of the windows scored
    // exp(mean NLL) over the windows scored so far; tokens scored.
    virtual double perplexity() const = 0;
    virtual qint64 nScored() const = 0;
};

class EngineBackend {
public:
    using Progress = std::function<bool(double fraction, const QString& stage)>;  // false = cancel
    using TokenSink = std::function<void(const TokenOut&)>;
    using QuantizeSink = std::function<void(const QuantizeProgressInfo&)>;

    virtual ~EngineBackend() = default;

    // Replaces the loaded model. Throws EngineError.
    virtual ModelInfo loadModel(const QString& path, const Progress& progress) = 0;
    virtual bool hasModel() const = 0;
    // Applies engine settings now (a new chat session over the loaded model,
    // no reload) and for later loads; returns the loaded model's updated info
    // (invalid when none is loaded). Throws EngineError.
    virtual ModelInfo configure(const RuntimeSettings& r) = 0;
    // Tokens of the chat prompt these turns make (template included); -1 without a model.
    virtual int countTokens(const QList<ChatTurn>& turns) = 0;
    virtual int contextLength() const = 0;  // of the chat session (0 without a model)
    // Runs one chat turn; reads controls.liveBits before each token, stops on controls.cancel.
    virtual BackendResult generate(const GenerationRequest& req, const TokenSink& onToken) = 0;
    // A fresh stream (own KV cache) over the loaded model at a fixed width.
    virtual std::unique_ptr<TokenStream> openStream(const QList<ChatTurn>& turns, const SamplingSettings& s,
                                                    int bits) = 0;
    // A measurement of the text at a width; bits < 0 = the checkpoint's source model.
    // The job may hold the loaded model: it must be destroyed before the next loadModel.
    virtual std::unique_ptr<PerplexityJob> openPerplexity(const QString& textPath, int bits, int ctx,
                                                          int maxWindows) = 0;
    virtual QuantizeOutcome quantize(const QuantizeSettings& s, const QuantizeSink& progress,
                                     const std::atomic<bool>* cancel) = 0;
};

using BackendFactory = std::function<std::unique_ptr<EngineBackend>()>;

}  // namespace studio
