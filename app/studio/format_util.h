// Number formatting for display (the engine side only ever sends numbers).
#pragma once
#include <QList>
#include <QString>

namespace studio::fmt {

QString bytes(quint64 n);                // "71.3 MB"
QString width(int bits);                 // "4-bit", "full precision" for 0, "source" for -1
QString widths(const QList<int>& bits);  // "4-bit → 6-bit"
QString widthList(const QList<int>& bits);  // "3-bit, 5-bit and 7-bit"
QString count(qint64 n);                 // "134.5 M", "2,048"
QString tokensPerSecond(double v);       // "23.4 tok/s"
QString seconds(double s);               // "0.42 s", "1 m 12 s"

}  // namespace studio::fmt
