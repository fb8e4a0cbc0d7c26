#include "conversation_store.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QSaveFile>

#include <algorithm>

namespace studio {

ConversationStore::ConversationStore(QString dir) : dir_(std::move(dir)) { QDir().mkpath(dir_); }

QString ConversationStore::fileFor(const QString& id) const { return dir_ + QLatin1Char('/') + id + ".json"; }

bool ConversationStore::save(const Conversation& c, QString* error) const {
    QSaveFile f(fileFor(c.id));
    if (!f.open(QIODevice::WriteOnly)) {
        if (error) *error = f.errorString();
        return false;
    }
    f.write(QJsonDocument(c.toJson()).toJson(QJsonDocument::Indented));
    if (!f.commit()) {
        if (error) *error = f.errorString();
        return false;
    }
    return true;
}

std::optional<Conversation> ConversationStore::load(const QString& id) const {
    QFile f(fileFor(id));
    if (!f.open(QIODevice::ReadOnly)) return std::nullopt;
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &err);
    if (err.error != QJsonParseError::NoError || !doc.isObject()) return std::nullopt;
    Conversation c = Conversation::fromJson(doc.object());
    if (c.id.isEmpty()) c.id = id;
    return c;
}

bool ConversationStore::remove(const QString& id) const { return QFile::remove(fileFor(id)); }

bool matches(const Conversation& c, const QString& query) {
    if (query.trimmed().isEmpty()) return true;
    const QString q = query.trimmed();
    auto has = [&q](const QString& t) { return t.contains(q, Qt::CaseInsensitive); };
    if (has(c.title) || has(c.autoTitle())) return true;
    for (const Message& m : c.messages) {
        if (has(m.text)) return true;
        for (const Message& o : m.others)
            if (has(o.text)) return true;
    }
    return false;
}

QList<ConversationSummary> ConversationStore::list(const QString& query) const {
    QList<ConversationSummary> out;
    const QDir d(dir_);
    for (const QString& name : d.entryList({QStringLiteral("*.json")}, QDir::Files)) {
        const auto c = load(name.chopped(5));
        if (!c || !matches(*c, query)) continue;
        out.append({c->id, c->title.isEmpty() ? c->autoTitle() : c->title, c->updated, int(c->messages.size())});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.updated > b.updated; });
    return out;
}

}  // namespace studio
