#include "quantize_estimate.h"

#include <QDir>
#include <QFileInfo>

namespace studio {

namespace {
// Bits per parameter of common source files, for guessing the parameter count.
double sourceBitsPerParam(const QString& path) {
    const QString p = path.toLower();
    if (p.contains(QLatin1String("q4_0"))) return 4.5;
    if (p.contains(QLatin1String("q4_1"))) return 5.0;
    if (p.contains(QLatin1String("q5"))) return 5.5;
    if (p.contains(QLatin1String("q8"))) return 8.5;
    if (p.contains(QLatin1String("f32"))) return 32;
    return 16;  // fp16 / bf16 safetensors and GGUF
}

quint64 sourceBytes(const QString& path) {
    const QFileInfo fi(path);
    if (fi.isFile()) return quint64(fi.size());
    quint64 sum = 0;
    for (const QFileInfo& f : QDir(path).entryInfoList({QStringLiteral("*.safetensors")}, QDir::Files))
        sum += quint64(f.size());
    return sum;
}
}  // namespace

SizeEstimate estimateQuantizedSize(const QuantizeSettings& s, const ModelInfo& known) {
    SizeEstimate e;
    double params = 0, rows = 0;
    if (known.isValid() && QFileInfo(known.path).absoluteFilePath() == QFileInfo(s.source).absoluteFilePath() &&
        known.nParams > 0) {
        params = double(known.nParams);
        rows = double(known.quantRows);
        e.exact = true;
    } else {
        params = sourceBytes(s.source) * 8.0 / sourceBitsPerParam(s.source);
        rows = params / 1000.0;  // rows of ~1000 weights: typical of small Llama models
    }
    if (params <= 0) return e;
    const bool ap = s.method == QLatin1String("anyprec");
    const int lo = ap ? s.seedBits : s.bits, hi = ap ? s.parentBits : s.bits;
    double tableBytesPerRow = 0;
    for (int b = lo; b <= hi; ++b) tableBytesPerRow += double(1 << b) + 8;  // int8 table + scale/offset
    e.bytes = quint64(params * hi / 8.0 + rows * tableBytesPerRow);
    return e;
}

}  // namespace studio
