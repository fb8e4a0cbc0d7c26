#include "chat_controller.h"

#include <QFile>
#include <QFileInfo>

namespace studio {

namespace {
constexpr int kFlushMs = 33;            // ~30 Hz: smooth to the eye, cheap to lay out
constexpr qint64 kSaveWhileStreamingMs = 2000;  // bounds what a crash can lose mid-answer
}  // namespace

ChatController::ChatController(EngineController* engine, ConversationStore* store, QObject* parent)
    : QObject(parent), engine_(engine), store_(store) {
    flush_.setInterval(kFlushMs);
    connect(&flush_, &QTimer::timeout, this, &ChatController::flush);
    connect(engine_, &EngineController::tokenReady, this, &ChatController::onToken);
    connect(engine_, &EngineController::generationFinished, this, &ChatController::onFinished);
    connect(engine_, &EngineController::generationFailed, this, &ChatController::onFailed);
    connect(engine_, &EngineController::tokensCounted, this, [this](quint64 id, int tokens, int) {
        if (id != countId_) return;
        countId_ = 0;
        contextTokens_ = tokens;
        emit contextChanged();
    });
    // A new model (tokenizer, context) or new engine settings change the count.
    connect(engine_, &EngineController::modelChanged, this, &ChatController::recountContext);
    connect(engine_, &EngineController::runtimeChanged, this, &ChatController::recountContext);
    connect(&model_, &QAbstractItemModel::modelReset, this, &ChatController::recountContext);
    model_.setConversation(Conversation::create());
}

void ChatController::setSystemPrompt(const QString& p) {
    systemPromptDefault_ = p;
    model_.conversationForEdit().systemPrompt = p;
}

void ChatController::setBits(int bits) {
    bits_ = bits;
    engine_->setLiveBits(bits);  // read by the decode loop before the next token
}

void ChatController::setDraftBits(int bits) {
    draftBits_ = qMax(0, bits);
    if (draftBits_ > 0) targetTps_ = 0;
}

void ChatController::setTargetTps(double tps) {
    targetTps_ = qMax(0.0, tps);
    if (targetTps_ > 0) draftBits_ = 0;
}

bool ChatController::send(const QString& text) {
    const QString t = text.trimmed();
    if (t.isEmpty() || isStreaming()) return false;
    if (!engine_->model().isValid()) {
        emit errorOccurred(tr("No model is loaded yet."));
        return false;
    }
    Message m;
    m.role = QStringLiteral("user");
    m.text = t;
    model_.appendMessage(m);
    return startAssistantTurn();
}

bool ChatController::startAssistantTurn(const Message& replaced) {
    Conversation& c = model_.conversationForEdit();
    c.modelPath = engine_->model().path;
    const QList<ChatTurn> turns = c.turns();
    Message a;
    a.role = QStringLiteral("assistant");
    a.streaming = true;
    a.model = QFileInfo(engine_->model().path).fileName();  // which model wrote it, kept with the answer
    if (!replaced.role.isEmpty()) {
        // Regenerating: the answer(s) so far stay as earlier versions.
        a.others = replaced.others;
        Message old = replaced;
        old.others.clear();
        a.others.append(old);
        for (const Message& o : a.others) a.version = qMax(a.version, o.version + 1);
    }
    activeRow_ = model_.appendMessage(a);
    pending_.clear();
    pendingBits_ = -1;
    lastStats_ = {};
    // Under a latency target the engine may use every width up to the parent (bits 0).
    activeAuto_ = targetTps_ > 0;
    activeId_ = targetTps_ > 0 ? engine_->generate(turns, sampling_, 0, 0, targetTps_)
                               : engine_->generate(turns, sampling_, bits_, draftBits_, 0);
    flush_.start();
    sinceSave_.start();
    save();  // the question is on disk before the first token
    emit streamingChanged(true);
    return true;
}

void ChatController::onToken(quint64 id, const QString& piece, const TokenStats& stats) {
    if (id != activeId_) return;  // a stale request (stopped, then replaced)
    if (stats.bits != pendingBits_) {
        // A width change: flush the text of the old width first so the
        // message records exactly which width produced what. Under a latency
        // target the engine may switch every token: there the message lists
        // each width once, in order of first use, and the 30 Hz flush stays.
        if (!activeAuto_) flush();
        if (!activeAuto_ || !model_.message(activeRow_).widths.contains(stats.bits)) model_.noteWidth(activeRow_, stats.bits);
        pendingBits_ = stats.bits;
    }
    pending_ += piece;
    lastStats_ = stats;
    emit tokenStats(stats);
}

void ChatController::flush() {
    if (activeRow_ < 0 || pending_.isEmpty()) return;
    model_.appendText(activeRow_, pending_);
    pending_.clear();
    if (sinceSave_.isValid() && sinceSave_.elapsed() > kSaveWhileStreamingMs) {
        save();
        sinceSave_.restart();
    }
}

void ChatController::recountContext() {
    if (!engine_->model().isValid() || isStreaming()) return;
    countId_ = engine_->countTokens(model_.conversation().turns());
}

void ChatController::onFinished(quint64 id, const GenerationSummary& s) {
    if (id != activeId_) return;
    flush();
    // What the engine left out to fit (the rule is in fitToContext), for the view and the file.
    model_.setContextStart(s.droppedMessages);
    contextTokens_ = s.contextTokens;
    const int bits = lastStats_.bits;
    model_.finishMessage(activeRow_, s, s.decodeTokensPerSecond);
    endStream();
    emit turnFinished(s, bits);
    emit contextChanged();
}

void ChatController::onFailed(quint64 id, const QString& error) {
    if (id != activeId_) return;
    flush();
    GenerationSummary s;
    s.reason = StopReason::Error;
    model_.finishMessage(activeRow_, s, 0);
    if (model_.message(activeRow_).text.isEmpty()) model_.truncate(activeRow_);
    endStream();
    emit errorOccurred(error);
}

void ChatController::endStream() {
    flush_.stop();
    activeId_ = 0;
    activeRow_ = -1;
    save();
    emit streamingChanged(false);
}

void ChatController::stop() {
    if (isStreaming()) engine_->stopGeneration();
}

bool ChatController::regenerate() {
    if (isStreaming()) return false;
    int n = model_.rowCount();
    Message replaced;
    if (n > 0 && model_.message(n - 1).role == QLatin1String("assistant")) {
        replaced = model_.message(n - 1);
        if (n == 1 || model_.message(n - 2).role != QLatin1String("user")) return false;
        model_.truncate(--n);
    }
    if (n == 0 || model_.message(n - 1).role != QLatin1String("user")) return false;
    return startAssistantTurn(replaced);
}

bool ChatController::showVersion(int row, int version) {
    if (isStreaming()) return false;
    if (!model_.showVersion(row, version)) return false;
    save();
    recountContext();  // the shown answer is the one the next question carries
    return true;
}

bool ChatController::editAndResend(int row, const QString& text) {
    if (isStreaming() || row < 0 || row >= model_.rowCount()) return false;
    if (model_.message(row).role != QLatin1String("user") || text.trimmed().isEmpty()) return false;
    model_.truncate(row + 1);
    model_.setMessageText(row, text.trimmed());
    if (model_.conversation().contextStart > row) model_.setContextStart(0);
    return startAssistantTurn();
}

void ChatController::clear() {
    stop();
    model_.clear();
    model_.setContextStart(0);
    save();
    recountContext();
}

void ChatController::newConversation() {
    if (isStreaming()) stop();
    Conversation c = Conversation::create();
    c.systemPrompt = systemPromptDefault_;
    model_.setConversation(c);
    emit conversationOpened(c.id);
}

bool ChatController::openConversation(const QString& id) {
    if (isStreaming()) return false;
    auto c = store_->load(id);
    if (!c) return false;
    model_.setConversation(*c);
    emit conversationOpened(c->id);
    return true;
}

void ChatController::deleteConversation(const QString& id) {
    if (id == model_.conversation().id) {
        if (isStreaming()) return;
        newConversation();
    }
    store_->remove(id);
    emit conversationsChanged();
}

bool ChatController::renameConversation(const QString& id, const QString& title) {
    const QString t = title.simplified();
    if (t.isEmpty()) return false;
    if (id == model_.conversation().id) {
        model_.conversationForEdit().title = t;
        save();
        return true;
    }
    auto c = store_->load(id);
    if (!c) return false;
    c->title = t;
    QString err;
    if (!store_->save(*c, &err)) {
        emit errorOccurred(tr("Could not rename the conversation: %1").arg(err));
        return false;
    }
    emit conversationsChanged();
    return true;
}

void ChatController::save() {
    // Empty chats are not worth a file (every launch would add one).
    if (model_.rowCount() == 0 && !QFile::exists(store_->dir() + '/' + model_.conversation().id + ".json")) return;
    QString err;
    if (!store_->save(model_.conversation(), &err)) emit errorOccurred(tr("Could not save the conversation: %1").arg(err));
    emit conversationsChanged();
}

}  // namespace studio
