// The row under the precision slider that chooses how the engine decodes:
// "Speculative" (draft at a narrower width, verify at the slider's width,
// with the acceptance and speed-up shown live) or "Auto" (the engine picks
// the width token by token to hold a tokens/s target). The two exclude each
// other because the engine runs one or the other. Choices apply from the
// next answer: the engine fixes them when a request starts.
#pragma once
#include "speculation_meter.h"
#include "studio_types.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;

namespace studio {

class DecodeModeBar : public QWidget {
    Q_OBJECT
public:
    explicit DecodeModeBar(QWidget* parent = nullptr);

    void setModel(const ModelInfo& info, int bits);
    // The slider's (manual) width: the draft chooser offers only narrower ones.
    void setBits(int bits);
    // Restores saved choices (emits modeChanged once).
    void setChoices(bool speculative, int draftBits, bool autoWidth, double targetTps);

    // What the next request should carry; 0 when off or not possible with this model/width.
    int draftBits() const;
    double targetTps() const;
    // The user's choices, kept even while this model or width cannot use them (for settings).
    bool speculativeChosen() const;
    int preferredDraftBits() const { return prefDraft_; }
    bool autoChosen() const;
    double targetChosen() const;

    void setAuto(bool on);  // e.g. the user took the slider off its auto stop
    void addStats(const TokenStats& s);
    void setSummary(const GenerationSummary& s);
    const SpeculationMeter& meter() const { return meter_; }

    QCheckBox* speculativeBox() const { return spec_; }
    QComboBox* draftCombo() const { return draft_; }
    QCheckBox* autoBox() const { return auto_; }
    QDoubleSpinBox* targetSpin() const { return target_; }
    QLabel* statsLabel() const { return stats_; }
    QList<int> offeredDraftWidths() const;

signals:
    void modeChanged();  // draftBits() or targetTps() may differ now

private:
    void refill();        // the draft chooser for the current width
    void refreshEnabled();
    void refreshText();

    ModelInfo info_;
    int bits_ = 0;
    int prefDraft_ = 4;
    int lastTokenBits_ = 0;
    double liveTps_ = 0;
    GenerationSummary summary_;
    bool haveSummary_ = false;
    SpeculationMeter meter_;
    QCheckBox* spec_ = nullptr;
    QComboBox* draft_ = nullptr;
    QCheckBox* auto_ = nullptr;
    QDoubleSpinBox* target_ = nullptr;
    QLabel* stats_ = nullptr;
};

}  // namespace studio
