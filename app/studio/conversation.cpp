#include "conversation.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
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

bool Message::showVersion(int v) {
    if (v == version) return true;
    for (int i = 0; i < others.size(); ++i) {
        if (others[i].version != v) continue;
        Message shown = others[i];
        QList<Message> rest = others;
        rest.removeAt(i);
        Message self = *this;
        self.others.clear();
        rest.append(self);
        std::sort(rest.begin(), rest.end(), [](const Message& a, const Message& b) { return a.version < b.version; });
        shown.others = rest;
        *this = shown;
        return true;
    }
    return false;
}

QString toMarkdown(const Conversation& c) {
    QString out = QStringLiteral("# %1\n\n").arg(c.title.isEmpty() ? c.autoTitle() : c.title);
    out += QStringLiteral("*AnyPrec Studio conversation, %1*\n\n").arg(c.updated.toLocalTime().toString(Qt::ISODate));
    if (!c.systemPrompt.trimmed().isEmpty()) out += QStringLiteral("**System prompt:** %1\n\n").arg(c.systemPrompt.trimmed());
    for (const Message& m : c.messages) {
        if (m.role == QLatin1String("user")) {
            out += QStringLiteral("## You\n\n%1\n\n").arg(m.text);
            continue;
        }
        QStringList about;
        if (!m.model.isEmpty()) about << m.model;
        QStringList w;
        for (int b : m.widths) w << (b == 0 ? QStringLiteral("full precision") : QStringLiteral("%1-bit").arg(b));
        if (!w.isEmpty()) about << w.join(QStringLiteral(" \u2192 "));
        if (m.tokensPerSecond > 0) about << QStringLiteral("%1 tok/s").arg(m.tokensPerSecond, 0, 'f', 1);
        if (m.versionCount() > 1) about << QStringLiteral("answer %1 of %2").arg(m.version).arg(m.versionCount());
        out += QStringLiteral("## Assistant%1\n\n%2\n\n")
                   .arg(about.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(about.join(QStringLiteral(", "))), m.text);
    }
    return out;
}

QByteArray toJsonBytes(const Conversation& c) { return QJsonDocument(c.toJson()).toJson(QJsonDocument::Indented); }

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

namespace {
QJsonObject messageJson(const Message& m) {
    QJsonObject o{{"role", m.role}, {"text", m.text}, {"created", m.created.toString(Qt::ISODateWithMs)}};
    if (m.role == QLatin1String("assistant")) {
        QJsonArray w;
        for (int b : m.widths) w.append(b);
        o.insert("widths", w);
        o.insert("tokens", m.nTokens);
        o.insert("tokens_per_s", m.tokensPerSecond);
        o.insert("ttft_s", m.ttftS);
        o.insert("stop", stopReasonKey(m.streaming ? StopReason::Cancelled : m.reason));
        if (!m.model.isEmpty()) o.insert("model", m.model);
        o.insert("version", m.version);
        if (!m.others.isEmpty()) {
            QJsonArray others;
            for (const Message& x : m.others) others.append(messageJson(x));
            o.insert("other_versions", others);
        }
    }
    return o;
}

Message messageFromJson(const QJsonObject& mo) {
    Message m;
    m.role = mo.value("role").toString();
    m.text = mo.value("text").toString();
    m.created = QDateTime::fromString(mo.value("created").toString(), Qt::ISODateWithMs);
    for (const auto& w : mo.value("widths").toArray()) m.widths.append(w.toInt());
    m.nTokens = mo.value("tokens").toInt();
    m.tokensPerSecond = mo.value("tokens_per_s").toDouble();
    m.ttftS = mo.value("ttft_s").toDouble();
    m.reason = stopReasonFromKey(mo.value("stop").toString());
    m.model = mo.value("model").toString();
    m.version = qMax(1, mo.value("version").toInt(1));
    for (const auto& v : mo.value("other_versions").toArray()) {
        Message x = messageFromJson(v.toObject());
        x.others.clear();  // one level only
        m.others.append(x);
    }
    return m;
}
}  // namespace

QJsonObject Conversation::toJson() const {
    QJsonArray msgs;
    for (const auto& m : messages) msgs.append(messageJson(m));
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
        const Message m = messageFromJson(v.toObject());
        if (m.role == QLatin1String("user") || m.role == QLatin1String("assistant")) c.messages.append(m);
    }
    return c;
}

}  // namespace studio
