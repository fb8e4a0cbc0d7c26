// The quantization wizard (QWizard): source -> calibration -> widths ->
// output -> run (progress, ETA, log, cancel) -> finish (open the result).
// The job runs on the engine thread; the wizard only sends and listens.
#pragma once
#include "engine_controller.h"

#include <QWizard>

#include <functional>

namespace studio {

class SourcePage;
class CalibrationPage;
class WidthsPage;
class OutputPage;
class RunPage;
class FinishPage;

class QuantizeWizard : public QWizard {
    Q_OBJECT
public:
    enum PageId { Source, Calibration, Widths, Output, Run, Finish };
    // Extra check of the final options (the real app passes the engine's
    // validate_quantize_options); returns an error message or "".
    using Validator = std::function<QString(const QuantizeSettings&)>;

    QuantizeWizard(EngineController* engine, Validator validator = {}, QWidget* parent = nullptr);

    QuantizeSettings settings() const;
    EngineController* engine() const { return engine_; }
    const Validator& validator() const { return validator_; }

    SourcePage* sourcePage() const { return source_; }
    CalibrationPage* calibrationPage() const { return calib_; }
    WidthsPage* widthsPage() const { return widths_; }
    OutputPage* outputPage() const { return output_; }
    RunPage* runPage() const { return run_; }

    void reject() override;  // while running: cancel the job first, close when it has cleaned up

signals:
    void openModelRequested(const QString& path);

private:
    EngineController* engine_;
    Validator validator_;
    SourcePage* source_;
    CalibrationPage* calib_;
    WidthsPage* widths_;
    OutputPage* output_;
    RunPage* run_;
    FinishPage* finish_;
    bool closeWhenDone_ = false;
};

}  // namespace studio
