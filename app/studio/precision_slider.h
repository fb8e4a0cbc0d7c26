// The precision control: a slider over the widths the model serves, each
// stop labelled with its bits per weight and the weight memory it reads.
// For a plain (not any-precision) model it shows "full precision" and offers
// the quantization wizard instead.
#pragma once
#include "studio_types.h"

#include <QWidget>

class QHBoxLayout;
class QLabel;
class QPushButton;
class QSlider;

namespace studio {

class PrecisionSlider : public QWidget {
    Q_OBJECT
public:
    explicit PrecisionSlider(QWidget* parent = nullptr);

    void setModel(const ModelInfo& info, int preferredBits);
    int bits() const { return bits_; }
    void setBits(int bits);  // clamped to what the model serves
    QSlider* slider() const { return slider_; }
    // A further row of controls inside the bar, under the tick labels (the decode mode row).
    void addRow(QWidget* w);

    // The "auto" stop: the engine picks the width per token. The handle then
    // shows the width of the last token (showEngineBits) without changing the
    // manual width; moving it by hand leaves auto (autoLeft, then bitsChanged).
    void setAutoMode(bool on, double targetTps = 0);
    bool autoMode() const { return auto_; }
    void showEngineBits(int bits);
    int shownBits() const;  // the handle's width (the last token's in auto mode)
    QLabel* detailLabel() const { return detail_; }
    QList<QLabel*> tickLabels() const { return tickLabels_; }

signals:
    void bitsChanged(int bits);
    void wizardRequested();
    void modelSet(const studio::ModelInfo& info);  // after setModel: bits() is the new model's
    void autoLeft();

protected:
    void resizeEvent(QResizeEvent* e) override;

private:
    void placeTickLabels();
    void refreshLabels();

    ModelInfo info_;
    int bits_ = 0;
    bool auto_ = false;
    double targetTps_ = 0;
    int engineBits_ = 0;  // width of the last token in auto mode (0 = none yet)
    QLabel* value_ = nullptr;
    QLabel* detail_ = nullptr;
    QSlider* slider_ = nullptr;
    QHBoxLayout* sliderRow_ = nullptr;
    QWidget* ticks_ = nullptr;
    QList<QLabel*> tickLabels_;
    QPushButton* wizard_ = nullptr;
};

}  // namespace studio
