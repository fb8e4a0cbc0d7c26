// Perplexity results remembered per (model file, text file, window count):
// a model's quality does not change, so each width is measured once. Keys
// include size and modification time, so a replaced file is measured again.
#pragma once
#include <QMap>
#include <QString>

namespace studio {

struct PerplexityEntry {
    double ppl = 0;
    qint64 nScored = 0;
};

class PerplexityCache {
public:
    explicit PerplexityCache(QString file);

    static QString key(const QString& modelPath, const QString& textPath, int windows);
    QMap<int, PerplexityEntry> get(const QString& key) const;  // bits -> result
    void put(const QString& key, int bits, const PerplexityEntry& e);  // saved at once (QSaveFile)

private:
    void load();
    void save() const;
    QString file_;
    QMap<QString, QMap<int, PerplexityEntry>> entries_;
};

}  // namespace studio
