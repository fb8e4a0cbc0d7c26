// The chat's behaviour: sending, streaming into the item model, stop,
// regenerate, edit-and-resend, and automatic saving. Token pieces are
// buffered and flushed on a ~30 Hz timer so fast decoding does not re-layout
// the message on every token.
#pragma once
#include "conversation_model.h"
#include "conversation_store.h"
#include "engine_controller.h"

#include <QElapsedTimer>
#include <QTimer>

namespace studio {

class ChatController : public QObject {
    Q_OBJECT
public:
    ChatController(EngineController* engine, ConversationStore* store, QObject* parent = nullptr);

    ConversationModel* model() { return &model_; }
    EngineController* engine() const { return engine_; }
    ConversationStore* store() const { return store_; }

    void setSampling(const SamplingSettings& s) { sampling_ = s; }
    const SamplingSettings& sampling() const { return sampling_; }
    void setSystemPrompt(const QString& p);
    QString systemPrompt() const { return model_.conversation().systemPrompt; }
    // The width for the next token (also mid-generation) and later turns.
    void setBits(int bits);
    int bits() const { return bits_; }
    // Self-speculative decoding (0 = off) and the latency target (0 = off; the
    // engine then picks every width). Both take effect from the next answer;
    // setting one clears the other, since the engine runs one or the other.
    void setDraftBits(int bits);
    int draftBits() const { return draftBits_; }
    void setTargetTps(double tps);
    double targetTps() const { return targetTps_; }
    bool isStreaming() const { return activeId_ != 0; }
    int streamingRow() const { return activeRow_; }

    bool send(const QString& text);
    void stop();
    bool regenerate();                                // the last answer; earlier answers are kept as versions
    bool showVersion(int row, int version);           // which answer of a regenerated message is shown (and sent)
    bool editAndResend(int row, const QString& text);  // a user message: drops what followed it
    void clear();
    void newConversation();
    bool openConversation(const QString& id);
    void deleteConversation(const QString& id);
    bool renameConversation(const QString& id, const QString& title);
    void save();
    void setFlushIntervalMs(int ms) { flush_.setInterval(ms); }

    // Context usage of the open conversation: tokens the next question would
    // start from (-1 until counted) against the session's context length.
    int contextTokens() const { return contextTokens_; }
    int contextLength() const { return engine_->model().nCtx; }
    int contextReserve() const { return qMin(sampling_.maxTokens, contextLength() / 2); }  // room kept for an answer
    void recountContext();  // asks the engine (after a model, settings or conversation change)

signals:
    void streamingChanged(bool streaming);
    void tokenStats(const studio::TokenStats& stats);
    void turnFinished(const studio::GenerationSummary& summary, int bits);
    void conversationsChanged();  // the sidebar list needs a refresh
    void conversationOpened(const QString& id);
    void errorOccurred(const QString& message);
    void contextChanged();

private:
    bool startAssistantTurn(const Message& replaced = {});
    void onToken(quint64 id, const QString& piece, const TokenStats& stats);
    void onFinished(quint64 id, const GenerationSummary& s);
    void onFailed(quint64 id, const QString& error);
    void flush();
    void endStream();

    EngineController* engine_;
    ConversationStore* store_;
    ConversationModel model_;
    SamplingSettings sampling_;
    QString systemPromptDefault_;
    int bits_ = 0;
    int draftBits_ = 0;
    double targetTps_ = 0;
    quint64 activeId_ = 0;
    bool activeAuto_ = false;  // the running answer is under a latency target
    int activeRow_ = -1;
    QString pending_;
    int pendingBits_ = -1;
    TokenStats lastStats_;
    QTimer flush_;
    QElapsedTimer sinceSave_;
    int contextTokens_ = -1;
    quint64 countId_ = 0;
};

}  // namespace studio
