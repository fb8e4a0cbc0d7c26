#include "app_settings.h"

namespace studio {

void AppSettings::addRecentModel(const QString& path) const {
    QStringList r = recentModels();
    r.removeAll(path);
    r.prepend(path);
    while (r.size() > kMaxRecent) r.removeLast();
    recent_.set(r);
}

void AppSettings::removeRecentModel(const QString& path) const {
    QStringList r = recentModels();
    r.removeAll(path);
    recent_.set(r);
}

SamplingSettings AppSettings::sampling() const {
    SamplingSettings s;
    s.temperature = temperature_.get();
    s.topK = topK_.get();
    s.topP = topP_.get();
    s.minP = minP_.get();
    s.repeatPenalty = repeat_.get();
    s.maxTokens = maxTokens_.get();
    s.seed = seed_.get();
    return s;
}

void AppSettings::setSampling(const SamplingSettings& s) const {
    temperature_.set(s.temperature);
    topK_.set(s.topK);
    topP_.set(s.topP);
    minP_.set(s.minP);
    repeat_.set(s.repeatPenalty);
    maxTokens_.set(s.maxTokens);
    seed_.set(s.seed);
}

RuntimeSettings AppSettings::runtime() const {
    RuntimeSettings r;
    r.threads = threads_.get();
    r.nCtx = nCtx_.get();
    r.reuseKv = reuseKv_.get();
    r.kvInt8 = kvInt8_.get();
    const QString copy = codeCopy_.get();
    r.codeCopy = copy == QLatin1String("always") ? CodeCopy::Always : copy == QLatin1String("never") ? CodeCopy::Never : CodeCopy::Auto;
    return r;
}

void AppSettings::setRuntime(const RuntimeSettings& r) const {
    threads_.set(r.threads);
    nCtx_.set(r.nCtx);
    reuseKv_.set(r.reuseKv);
    kvInt8_.set(r.kvInt8);
    codeCopy_.set(r.codeCopy == CodeCopy::Always  ? QStringLiteral("always")
                  : r.codeCopy == CodeCopy::Never ? QStringLiteral("never")
                                                  : QStringLiteral("auto"));
}

QList<int> AppSettings::compareWidths() const {
    QList<int> out;
    for (const QString& p : compareWidths_.get().split(QLatin1Char(','), Qt::SkipEmptyParts)) out << p.toInt();
    return out;
}

void AppSettings::setCompareWidths(const QList<int>& w) const {
    QStringList parts;
    for (int b : w) parts << QString::number(b);
    compareWidths_.set(parts.join(QLatin1Char(',')));
}

}  // namespace studio
