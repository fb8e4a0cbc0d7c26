// Memory as stacked bars: the any-precision parent (bitplanes, tables,
// unquantized tensors, KV cache, activations) beside what separate 3..8-bit
// models would need together.
#pragma once
#include "plot_card.h"
#include "studio_types.h"

namespace studio {

class MemoryPlot : public PlotCard {
    Q_OBJECT
public:
    explicit MemoryPlot(QWidget* parent = nullptr);

    void setModel(const ModelInfo& info);
    // KV cache and activations change with the conversation; weights do not.
    void setRuntimeBytes(quint64 kvBytes, quint64 activationBytes, quint64 copyBytes);
    QString csv() const override;
    int segmentCount() const;  // bar segments with data (tests)
    QList<QColor> segmentColors() const;  // fill of every segment with data, legend order (tests)

private:
    void rebuild();
    ModelInfo info_;
    QList<QPair<QString, QList<double>>> rows_;  // segment name -> MB per bar (for CSV)
    QStringList barNames_;
};

}  // namespace studio
