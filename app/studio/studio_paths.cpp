#include "studio_paths.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace studio::paths {

QString cacheDir() {
    const QByteArray env = qgetenv("ANYPREC_CACHE");
    if (!env.isEmpty()) return QString::fromLocal8Bit(env);
    return QDir::homePath() + QStringLiteral("/.cache/anyprec");
}

QString defaultGguf() { return cacheDir() + QStringLiteral("/models/SmolLM2-135M-Instruct.Q4_1.gguf"); }
QString defaultAnyPrecision() {
    return cacheDir() + QStringLiteral("/models/SmolLM2-135M-Instruct.anyprec.safetensors");
}
QString defaultModel() {
    return QFileInfo::exists(defaultAnyPrecision()) ? defaultAnyPrecision() : defaultGguf();
}
QString defaultEvalText() { return cacheDir() + QStringLiteral("/text/mobydick.txt"); }
QString defaultCalibText() { return cacheDir() + QStringLiteral("/text/sherlock.txt"); }

static QString dataDir() {
    QString d = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(d);
    return d;
}

QString conversationsDir() {
    const QString d = dataDir() + QStringLiteral("/conversations");
    QDir().mkpath(d);
    return d;
}

QString perplexityCacheFile() { return dataDir() + QStringLiteral("/perplexity-cache.json"); }

}  // namespace studio::paths
