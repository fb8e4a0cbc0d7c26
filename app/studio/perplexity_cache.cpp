#include "perplexity_cache.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

namespace studio {

PerplexityCache::PerplexityCache(QString file) : file_(std::move(file)) { load(); }

QString PerplexityCache::key(const QString& modelPath, const QString& textPath, int windows) {
    auto stamp = [](const QString& p) {
        const QFileInfo fi(p);
        return QStringLiteral("%1|%2|%3").arg(fi.absoluteFilePath()).arg(fi.size()).arg(
            fi.lastModified().toMSecsSinceEpoch());
    };
    return stamp(modelPath) + QStringLiteral("||") + stamp(textPath) + QStringLiteral("||w") +
           QString::number(windows);
}

QMap<int, PerplexityEntry> PerplexityCache::get(const QString& key) const { return entries_.value(key); }

void PerplexityCache::put(const QString& key, int bits, const PerplexityEntry& e) {
    entries_[key][bits] = e;
    save();
}

void PerplexityCache::load() {
    QFile f(file_);
    if (!f.open(QIODevice::ReadOnly)) return;
    const QJsonObject root = QJsonDocument::fromJson(f.readAll()).object();
    for (auto it = root.begin(); it != root.end(); ++it) {
        const QJsonObject widths = it.value().toObject();
        for (auto w = widths.begin(); w != widths.end(); ++w) {
            const QJsonObject o = w.value().toObject();
            entries_[it.key()][w.key().toInt()] = {o.value("ppl").toDouble(), qint64(o.value("scored").toDouble())};
        }
    }
}

void PerplexityCache::save() const {
    QJsonObject root;
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        QJsonObject widths;
        for (auto w = it.value().begin(); w != it.value().end(); ++w)
            widths.insert(QString::number(w.key()), QJsonObject{{"ppl", w.value().ppl}, {"scored", double(w.value().nScored)}});
        root.insert(it.key(), widths);
    }
    QSaveFile f(file_);
    if (!f.open(QIODevice::WriteOnly)) return;
    f.write(QJsonDocument(root).toJson(QJsonDocument::Compact));
    f.commit();
}

}  // namespace studio
