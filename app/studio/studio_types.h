// Plain value types that cross the GUI <-> engine-thread boundary. They carry
// numbers and raw text only: formatting for display happens in the widgets.
#pragma once
#include <QList>
#include <QMetaType>
#include <QString>

#include <atomic>
#include <memory>

namespace studio {

// One width the loaded model can serve (bits == 0: full precision / dense).
struct WidthInfo {
    int bits = 0;
    double bitsPerWeight = 0;   // of the quantized matrices, tables included
    quint64 separateBytes = 0;  // what a separate model at this width would take
    quint64 bytesPerToken = 0;  // weight bytes read per decoded token
};

// What the model panel shows beyond the numbers the rest of the app uses:
// the architecture, the tokenizer and chat template, and for an any-precision
// checkpoint how it was made (source and calibration, with their hashes).
struct ModelDetails {
    QString arch, chatFormat, chatTemplate, tokenizer, bosText, eosText;
    int nLayer = 0, nEmbd = 0, nHead = 0, nHeadKv = 0, headDim = 0, nFf = 0, nVocab = 0;
    double ropeTheta = 0;
    bool tiedEmbeddings = false;
    int slidingWindow = 0;
    // Any-precision provenance (empty for plain models).
    QString method, sensitivity, sourceFile, sourceSha256, calibFile, calibSha256, toolVersion;
    int calibTokens = 0, anchorBits = 0;
};

struct ModelInfo {
    QString path, name, format, sourceNote, device, chatWarning, sourcePath;
    bool anyPrecision = false;
    int seedBits = 0, parentBits = 0;
    qint64 nParams = 0;
    qint64 quantRows = 0;  // rows of the matrices a quantizer would touch (size estimates)
    int nCtx = 0;          // the chat session's context (KV cache length)
    int nCtxTrain = 0;     // the model's training context: the most nCtx can be
    int threads = 0;       // the engine's threads now
    ModelDetails details;
    QList<WidthInfo> widths;
    quint64 planeBytes = 0, tableBytes = 0, denseBytes = 0, kvBytes = 0, activationBytes = 0;
    quint64 copyBytes = 0;  // the session's code copies (RuntimeSettings::codeCopy)
    int copyFrom = 0;         // widths from this one up keep a code copy (0: none, by choice, for room or by kernel set)
    quint64 copyMaxBytes = 0; // what the copy can take (its widest layout)
    double copyShare = 0;     // the fraction of quantized weights in matrices that keep one (below 1: the memory budget)

    bool isValid() const { return !path.isEmpty(); }
    quint64 weightBytes() const { return planeBytes + tableBytes + denseBytes; }
    const WidthInfo* width(int bits) const {
        for (const auto& w : widths)
            if (w.bits == bits) return &w;
        return nullptr;
    }
};

// ap::SessionOptions::code_copy_from as a choice: kCodeCopyAuto, kCodeCopyAlways, 0.
enum class CodeCopy { Auto, Always, Never };

// Engine settings applied without reloading the model (a new chat session).
struct RuntimeSettings {
    int threads = 0;      // 0 = every available core
    int nCtx = 2048;      // context length = KV cache length, clamped to the model's
    bool reuseKv = true;  // keep the conversation's KV cache between turns (false: re-read it every turn)
    bool kvInt8 = false;  // KV cache rows in int8 (ap::KvCache::Q8: half the memory and the bytes read per token)
    CodeCopy codeCopy = CodeCopy::Auto;  // a copy of the active width's codes, unpacked (ap::SessionOptions::code_copy_from)
    bool operator==(const RuntimeSettings&) const = default;
};

struct SamplingSettings {
    double temperature = 0.7;
    int topK = 40;
    double topP = 0.95;
    double minP = 0.05;
    double repeatPenalty = 1.1;
    int maxTokens = 512;
    quint64 seed = 42;
    bool operator==(const SamplingSettings&) const = default;
};

struct ChatTurn {
    QString role;  // "system", "user", "assistant"
    QString content;
};

enum class StopReason { None, MaxTokens, Eos, StopString, Cancelled, ContextFull, Error };

// Shared between the GUI (writer) and the decode loop (reader, before every token).
struct GenerationControls {
    std::atomic<bool> cancel{false};
    std::atomic<int> liveBits{0};
};

struct GenerationRequest {
    quint64 id = 0;
    QList<ChatTurn> turns;  // system prompt + history + the new user turn
    SamplingSettings sampling;
    int bits = 0;
    // Self-speculative decoding: draft at this width, verify at bits/liveBits (0 = off).
    // Fixed for the request: the engine reads it once, unlike liveBits.
    int draftBits = 0;
    // Latency target in decoded tokens/s (0 = off): the engine picks the width
    // per token, `bits` capping it. The engine refuses it together with draftBits.
    double targetTps = 0;
    std::shared_ptr<GenerationControls> controls;  // never null when sent
};

// Numbers reported with every token; the GUI formats them.
struct TokenStats {
    int bits = 0;              // width that produced this token
    int index = 0;             // 0-based among generated tokens
    double elapsedS = 0;       // since the request started
    double tokenS = 0;         // time spent on this token
    double tokensPerSecond = 0;  // decode speed over the recent tokens
    double ttftS = 0;          // time to first token
    double promptTokensPerSecond = 0;
    int nPrompt = 0;
    // Speculative decoding: this token was a draft the verifying width accepted.
    bool drafted = false;
    // On a speculative round's last token: drafts the round accepted and drafts
    // it proposed (-1 / 0 on every other token and without speculation).
    int roundAccepted = -1;
    int roundProposed = 0;
    bool endsRound() const { return roundAccepted >= 0; }
};

struct GenerationSummary {
    StopReason reason = StopReason::None;
    int nPrompt = 0, nGenerated = 0;
    double ttftS = 0, decodeTokensPerSecond = 0, promptTokensPerSecond = 0, totalS = 0;
    quint64 kvBytes = 0, activationBytes = 0, copyBytes = 0;
    int rounds = 0, drafted = 0, accepted = 0;  // speculative decoding (0 without)
    double acceptance() const { return drafted ? double(accepted) / drafted : 0; }
    double tokensPerRound() const { return rounds ? double(accepted + rounds) / rounds : 0; }
    int droppedMessages = 0;  // oldest messages left out so the conversation fit the context
    int contextTokens = 0;    // tokens of the context in use after this turn (prompt + answer)
};

struct CompareRequest {
    quint64 id = 0;
    QList<ChatTurn> turns;
    SamplingSettings sampling;  // one seed for every column
    QList<int> widths;
    std::shared_ptr<GenerationControls> controls;
};

struct PerplexityRequest {
    quint64 id = 0;
    QString textPath;
    QList<int> widths;    // 0 = the model's own full precision
    bool includeSource = false;  // also the source model of an any-precision checkpoint
    int ctx = 512;
    int maxWindows = 8;   // bounds the time on slow machines (0 = whole text)
    std::shared_ptr<GenerationControls> controls;
};

struct QuantizeSettings {
    QString source, output, method = QStringLiteral("anyprec");
    int seedBits = 3, parentBits = 8, bits = 4;
    QString calibPath;
    int calibTokens = 16384;
    QString sensitivity = QStringLiteral("act");
    bool quantizeEmbeddings = true;
    int threads = 0;
};

// A quantization run: the settings plus the cancel flag the job polls.
struct QuantizeJob {
    QuantizeSettings settings;
    std::shared_ptr<GenerationControls> controls;
};

struct QuantizeProgressInfo {
    double fraction = 0;
    int step = 0, nSteps = 0;
    QString stage, tensor;
    double elapsedS = 0, etaS = -1;
};

struct QuantizeOutcome {
    QString output;
    quint64 bytes = 0;
    double seconds = 0;
    bool cancelled = false;
    QString error;  // empty on success
};

// Registers the types above for queued connections; call once before use.
void registerStudioTypes();

}  // namespace studio

Q_DECLARE_METATYPE(studio::ModelInfo)
Q_DECLARE_METATYPE(studio::RuntimeSettings)
Q_DECLARE_METATYPE(QList<studio::ChatTurn>)
Q_DECLARE_METATYPE(studio::GenerationRequest)
Q_DECLARE_METATYPE(studio::TokenStats)
Q_DECLARE_METATYPE(studio::GenerationSummary)
Q_DECLARE_METATYPE(studio::CompareRequest)
Q_DECLARE_METATYPE(studio::PerplexityRequest)
Q_DECLARE_METATYPE(studio::QuantizeSettings)
Q_DECLARE_METATYPE(studio::QuantizeJob)
Q_DECLARE_METATYPE(studio::QuantizeProgressInfo)
Q_DECLARE_METATYPE(studio::QuantizeOutcome)
