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

QString stopReasonKey(StopReason r);
StopReason stopReasonFromKey(const QString& key);

}  // namespace studio
