#include "format_util.h"

#include <QLocale>
#include <QStringList>

namespace studio::fmt {

// Binary units, as the anyprec CLI prints them: one figure reads the same in both.
QString bytes(quint64 n) {
    const double v = double(n);
    if (v >= double(1ull << 30)) return QString::number(v / double(1ull << 30), 'f', 2) + QStringLiteral(" GiB");
    if (v >= double(1ull << 20)) return QString::number(v / double(1ull << 20), 'f', 1) + QStringLiteral(" MiB");
    if (v >= 1024) return QString::number(v / 1024, 'f', 1) + QStringLiteral(" KiB");
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

QString widthList(const QList<int>& bits) {
    QStringList parts;
    for (int b : bits) parts << width(b);
    if (parts.size() <= 1) return parts.join(QString());
    const QString last = parts.takeLast();
    return parts.join(QStringLiteral(", ")) + QStringLiteral(" and ") + last;
}

QString count(qint64 n) {
    if (n >= 1000000000) return QString::number(n / 1e9, 'f', 2) + QStringLiteral(" B");
    if (n >= 1000000) return QString::number(n / 1e6, 'f', 1) + QStringLiteral(" M");
    return QLocale(QLocale::English).toString(n);
}

QString tokensPerSecond(double v) { return QString::number(v, 'f', v < 10 ? 2 : 1) + QStringLiteral(" tok/s"); }

QString seconds(double s) {
    if (s < 60) return QString::number(s, 'f', s < 10 ? 2 : 1) + QStringLiteral(" s");
    const int m = int(s / 60);
    return QStringLiteral("%1 m %2 s").arg(m).arg(int(s - m * 60));
}

}  // namespace studio::fmt
