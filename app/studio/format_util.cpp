#include "format_util.h"

#include <QStringList>

namespace studio::fmt {

QString bytes(quint64 n) {
    const double v = double(n);
    if (v >= 1e9) return QString::number(v / 1e9, 'f', 2) + QStringLiteral(" GB");
    if (v >= 1e6) return QString::number(v / 1e6, 'f', 1) + QStringLiteral(" MB");
    if (v >= 1e3) return QString::number(v / 1e3, 'f', 0) + QStringLiteral(" kB");
    return QString::number(n) + QStringLiteral(" B");
}

QString width(int bits) {
    if (bits == 0) return QStringLiteral("full precision");
    if (bits < 0) return QStringLiteral("source");
    return QStringLiteral("%1-bit").arg(bits);
}

QString widths(const QList<int>& bits) {
    QStringList parts;
    for (int b : bits) parts << width(b);
    return parts.join(QStringLiteral(" \u2192 "));
}

QString tokensPerSecond(double v) { return QString::number(v, 'f', v < 10 ? 2 : 1) + QStringLiteral(" tok/s"); }

QString seconds(double s) {
    if (s < 60) return QString::number(s, 'f', s < 10 ? 2 : 1) + QStringLiteral(" s");
    const int m = int(s / 60);
    return QStringLiteral("%1 m %2 s").arg(m).arg(int(s - m * 60));
}

}  // namespace studio::fmt
