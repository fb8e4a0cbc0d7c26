// A conversation as data: its turns, with the widths and speed that produced
// every assistant message, and its JSON form (what the store writes).
#pragma once
#include "studio_types.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>

namespace studio {

struct Message {
    QString role;          // "user" or "assistant"
    QString text;
    QList<int> widths;     // assistant: every width that produced tokens, in order of use
    int nTokens = 0;
    double tokensPerSecond = 0, ttftS = 0;
    StopReason reason = StopReason::None;
    bool streaming = false;  // not saved: a crash mid-stream reloads as a finished (partial) message
    QDateTime created;
    QString model;           // assistant: file name of the model that wrote it
    // Regenerated answers keep the earlier ones: `version` numbers them in
    // the order they were written (1 = first), `others` holds the versions
    // not shown, each without `others` of its own.
    int version = 1;
    QList<Message> others;

    int versionCount() const { return int(others.size()) + 1; }
    // Shows version `v` (1-based); false if there is none.
    bool showVersion(int v);
};

struct Conversation {
    QString id;           // file name stem
    QString title;
    QString modelPath;
    QString systemPrompt;
    QDateTime created, updated;
    QList<Message> messages;
    // Messages before this row were left out of the last question's context
    // (it did not fit); 0 when everything was sent.
    int contextStart = 0;

    static Conversation create();  // fresh id and timestamps
    // The turns the model sees: system prompt then history up to (excluding) `endRow`.
    QList<ChatTurn> turns(int endRow = -1) const;
    QString autoTitle() const;  // first user line, shortened

    QJsonObject toJson() const;
    static Conversation fromJson(const QJsonObject& o);
};

// Exports: Markdown for reading and sharing, JSON as the store writes it.
QString toMarkdown(const Conversation& c);
QByteArray toJsonBytes(const Conversation& c);

QString stopReasonKey(StopReason r);
StopReason stopReasonFromKey(const QString& key);

}  // namespace studio
