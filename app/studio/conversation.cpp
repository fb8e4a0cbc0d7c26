#include "conversation.h"

#include <QJsonArray>
#include <QUuid>

namespace studio {

Conversation Conversation::create() {
    Conversation c;
    c.id = QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss-")) +
           QUuid::createUuid().toString(QUuid::Id128).left(8);
    c.created = c.updated = QDateTime::currentDateTimeUtc();
    return c;
}

QList<ChatTurn> Conversation::turns(int endRow) const {
    QList<ChatTurn> out;
    if (!systemPrompt.trimmed().isEmpty()) out.append({QStringLiteral("system"), systemPrompt});
    const int end = endRow < 0 ? int(messages.size()) : qMin(endRow, int(messages.size()));
    for (int i = 0; i < end; ++i) out.append({messages[i].role, messages[i].text});
    return out;
}

QString Conversation::autoTitle() const {
    for (const auto& m : messages) {
        if (m.role != QLatin1String("user")) continue;
        QString t = m.text.simplified();
        return t.size() > 48 ? t.left(47) + QChar(0x2026) : t;
    }
    return QStringLiteral("New chat");
}

QString stopReasonKey(StopReason r) {
    switch (r) {
    case StopReason::None: return QStringLiteral("none");
    case StopReason::MaxTokens: return QStringLiteral("max_tokens");
    case StopReason::Eos: return QStringLiteral("eos");
    case StopReason::StopString: return QStringLiteral("stop_string");
    case StopReason::Cancelled: return QStringLiteral("cancelled");
    case StopReason::ContextFull: return QStringLiteral("context_full");
    case StopReason::Error: return QStringLiteral("error");
    }
    return QStringLiteral("none");
}

StopReason stopReasonFromKey(const QString& key) {
    for (StopReason r : {StopReason::MaxTokens, StopReason::Eos, StopReason::StopString, StopReason::Cancelled,
                         StopReason::ContextFull, StopReason::Error})
        if (stopReasonKey(r) == key) return r;
    return StopReason::None;
}

QJsonObject Conversation::toJson() const {
    QJsonArray msgs;
    for (const auto& m : messages) {
        QJsonObject o{{"role", m.role}, {"text", m.text}, {"created", m.created.toString(Qt::ISODateWithMs)}};
        if (m.role == QLatin1String("assistant")) {
            QJsonArray w;
            for (int b : m.widths) w.append(b);
            o.insert("widths", w);
            o.insert("tokens", m.nTokens);
            o.insert("tokens_per_s", m.tokensPerSecond);
            o.insert("ttft_s", m.ttftS);
            o.insert("stop", stopReasonKey(m.streaming ? StopReason::Cancelled : m.reason));
        }
        msgs.append(o);
    }
    return QJsonObject{{"format", "anyprec-studio-conversation"},
                       {"version", 1},
                       {"id", id},
                       {"title", title},
                       {"model", modelPath},
                       {"system_prompt", systemPrompt},
                       {"created", created.toString(Qt::ISODateWithMs)},
                       {"updated", updated.toString(Qt::ISODateWithMs)},
                       {"context_start", contextStart},
                       {"messages", msgs}};
}

Conversation Conversation::fromJson(const QJsonObject& o) {
    Conversation c;
    c.id = o.value("id").toString();
    c.title = o.value("title").toString();
    c.modelPath = o.value("model").toString();
    c.systemPrompt = o.value("system_prompt").toString();
    c.created = QDateTime::fromString(o.value("created").toString(), Qt::ISODateWithMs);
    c.updated = QDateTime::fromString(o.value("updated").toString(), Qt::ISODateWithMs);
    c.contextStart = qMax(0, o.value("context_start").toInt());
    for (const auto& v : o.value("messages").toArray()) {
        const QJsonObject mo = v.toObject();
        Message m;
        m.role = mo.value("role").toString();
        m.text = mo.value("text").toString();
        m.created = QDateTime::fromString(mo.value("created").toString(), Qt::ISODateWithMs);
        for (const auto& w : mo.value("widths").toArray()) m.widths.append(w.toInt());
        m.nTokens = mo.value("tokens").toInt();
        m.tokensPerSecond = mo.value("tokens_per_s").toDouble();
        m.ttftS = mo.value("ttft_s").toDouble();
        m.reason = stopReasonFromKey(mo.value("stop").toString());
        if (m.role == QLatin1String("user") || m.role == QLatin1String("assistant")) c.messages.append(m);
    }
    return c;
}

}  // namespace studio
