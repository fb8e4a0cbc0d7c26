#include "quantize_wizard.h"

#include "wizard_pages.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QSpinBox>

namespace studio {

QuantizeWizard::QuantizeWizard(EngineController* engine, Validator validator, QWidget* parent)
    : QWizard(parent), engine_(engine), validator_(std::move(validator)) {
    setWindowTitle(tr("Quantize to any-precision"));
    setWizardStyle(QWizard::ModernStyle);
    setOption(QWizard::NoBackButtonOnLastPage);
    setOption(QWizard::NoCancelButtonOnLastPage);
    setMinimumSize(680, 480);
    source_ = new SourcePage(this);
    calib_ = new CalibrationPage(this);
    widths_ = new WidthsPage(this);
    output_ = new OutputPage(this);
    run_ = new RunPage(this);
    finish_ = new FinishPage(this);
    setPage(Source, source_);
    setPage(Calibration, calib_);
    setPage(Widths, widths_);
    setPage(Output, output_);
    setPage(Run, run_);
    setPage(Finish, finish_);
    // Prefer the loaded model as the source when it is a plain model.
    if (engine_->model().isValid() && !engine_->model().anyPrecision) source_->path->setText(engine_->model().path);

    connect(engine_, &EngineController::quantizeFinished, this, [this](const QuantizeOutcome&) {
        if (closeWhenDone_) QWizard::reject();
    });
    connect(this, &QWizard::accepted, this, [this] {
        if (finish_->openNow->isChecked() && !run_->outcome().output.isEmpty() && run_->outcome().error.isEmpty() &&
            !run_->outcome().cancelled)
            emit openModelRequested(run_->outcome().output);
    });
}

QuantizeSettings QuantizeWizard::settings() const {
    QuantizeSettings s;
    s.source = source_->path->text().trimmed();
    s.calibPath = calib_->text->text().trimmed();
    s.calibTokens = calib_->tokens->value();
    s.method = widths_->method->currentData().toString();
    s.seedBits = widths_->seed->value();
    s.parentBits = widths_->parent->value();
    s.bits = widths_->single->value();
    s.sensitivity = widths_->sensitivity->currentData().toString();
    s.quantizeEmbeddings = widths_->embeddings->isChecked();
    s.output = output_->path->text().trimmed();
    return s;
}

void QuantizeWizard::reject() {
    if (run_->running()) {
        // Let the job delete its temporary file before the wizard goes away.
        closeWhenDone_ = true;
        engine_->cancelQuantize();
        return;
    }
    QWizard::reject();
}

}  // namespace studio
