// The quantization wizard: every page rejects bad input on the page itself;
// a cancelled run leaves no file; a finished run offers the new checkpoint.
#include "quantize_wizard.h"
#include "studio_test_util.h"
#include "wizard_pages.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>

using namespace studio;

class TestStudioWizard : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString source_, calib_;

    // A wizard filled with valid choices, on the Output page.
    QuantizeWizard* validWizard(EngineController* engine, const QString& out) {
        auto* w = new QuantizeWizard(engine);
        w->sourcePage()->path->setText(source_);
        w->calibrationPage()->text->setText(calib_);
        w->calibrationPage()->tokens->setValue(1024);
        w->outputPage()->path->setText(out);
        return w;
    }

private slots:
    void initTestCase() {
        studiotest::isolate("test_studio_wizard");
        source_ = dir_.filePath("model.gguf");
        QFile s(source_);
        QVERIFY(s.open(QIODevice::WriteOnly));
        s.write(QByteArray(64 * 1024, 'x'));
        s.close();
        calib_ = dir_.filePath("calib.txt");
        QFile c(calib_);
        QVERIFY(c.open(QIODevice::WriteOnly));
        c.write(QByteArray(64 * 1024, 'a'));
        c.close();
    }

    void sourcePageRejectsBadInput() {
        EngineController engine(studiotest::fakeFactory());
        QuantizeWizard w(&engine);
        SourcePage* p = w.sourcePage();
        p->path->setText(QString());
        QVERIFY(!p->validatePage());
        QVERIFY(!p->error().isEmpty());
        p->path->setText(dir_.filePath("nope.gguf"));
        QVERIFY(!p->validatePage());
        QVERIFY(p->error().contains("does not exist"));
        p->path->setText(calib_);  // exists, but not a model
        QVERIFY(!p->validatePage());
        p->path->setText(dir_.path());  // a folder without config.json
        QVERIFY(!p->validatePage());
        QVERIFY(p->error().contains("config.json"));
        p->path->setText(source_);
        QVERIFY(p->validatePage());
        QVERIFY(p->error().isEmpty());
    }

    void calibrationPageRejectsBadInput() {
        EngineController engine(studiotest::fakeFactory());
        QuantizeWizard w(&engine);
        CalibrationPage* p = w.calibrationPage();
        p->text->setText(dir_.filePath("missing.txt"));
        QVERIFY(!p->validatePage());
        p->text->setText(calib_);
        p->tokens->setValue(10);
        QVERIFY(!p->validatePage());
        QVERIFY(p->error().contains("at least"));
        p->tokens->setValue(CalibrationPage::kMaxTokens);  // far more than the 64 kB text holds
        QVERIFY(!p->validatePage());
        p->tokens->setValue(4096);
        QVERIFY(p->validatePage());
    }

    void widthsPageRejectsBadInput() {
        EngineController engine(studiotest::fakeFactory());
        QuantizeWizard w(&engine);
        WidthsPage* p = w.widthsPage();
        p->seed->setValue(6);
        p->parent->setValue(4);
        QVERIFY(!p->validatePage());
        QVERIFY(p->error().contains("below"));
        p->seed->setValue(1);
        p->parent->setValue(8);
        QVERIFY(!p->validatePage());
        p->seed->setValue(3);
        QVERIFY(p->validatePage());
        p->method->setCurrentIndex(1);  // rtn: one width
        p->single->setValue(1);
        QVERIFY(!p->validatePage());
        p->single->setValue(4);
        QVERIFY(p->validatePage());
    }

    void outputPageRejectsBadInput() {
        EngineController engine(studiotest::fakeFactory());
        QScopedPointer<QuantizeWizard> w(validWizard(&engine, dir_.filePath("out.bin")));
        OutputPage* p = w->outputPage();
        QVERIFY(!p->validatePage());
        QVERIFY(p->error().contains(".safetensors"));
        p->path->setText(source_);
        QVERIFY(!p->validatePage());
        const QString existing = dir_.filePath("exists.safetensors");
        QFile f(existing);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.close();
        p->path->setText(existing);
        QVERIFY(!p->validatePage());
        p->overwrite->setChecked(true);
        QVERIFY(p->validatePage());
        p->overwrite->setChecked(false);
        p->path->setText(dir_.filePath("fresh.safetensors"));
        QVERIFY(p->validatePage());
        // The engine's own validator is consulted last.
        QuantizeWizard w2(&engine, [](const QuantizeSettings&) { return QStringLiteral("engine says no"); });
        w2.sourcePage()->path->setText(source_);
        w2.outputPage()->path->setText(dir_.filePath("fresh.safetensors"));
        QVERIFY(!w2.outputPage()->validatePage());
        QCOMPARE(w2.outputPage()->error(), QStringLiteral("engine says no"));
    }

    void cancelledQuantizationLeavesNoFile() {
        FakeBackendOptions o;
        o.quantizeSteps = 200;
        o.quantizeStepMs = 10;
        EngineController engine(studiotest::fakeFactory(o));
        const QString out = dir_.filePath("cancelled.safetensors");
        QScopedPointer<QuantizeWizard> w(validWizard(&engine, out));
        QSignalSpy progress(&engine, &EngineController::quantizeProgress);
        QSignalSpy finished(&engine, &EngineController::quantizeFinished);
        w->show();
        for (int i = 0; i < 4; ++i) w->next();  // source -> calib -> widths -> output -> run
        QCOMPARE(w->currentId(), int(QuantizeWizard::Run));
        QVERIFY(progress.wait(5000));
        w->reject();  // the wizard's Cancel: cancels the job and waits for its clean-up
        QVERIFY(finished.wait(5000));
        const auto outcome = finished.first().first().value<QuantizeOutcome>();
        QVERIFY(outcome.cancelled);
        QVERIFY(!QFile::exists(out));
        // No temporary next to it either.
        QCOMPARE(QDir(dir_.path()).entryList({"cancelled*"}).size(), 0);
        QVERIFY(!w->runPage()->isComplete());
    }

    // Issue 15, defect 7: Cancel stayed enabled after the run, Back was
    // enabled during it, and "0 / 1 tensors, about 29.3 s left" outlived a cancel.
    void runPageButtonsAndTextFollowTheRun() {
        FakeBackendOptions o;
        o.quantizeSteps = 200;
        o.quantizeStepMs = 10;
        EngineController engine(studiotest::fakeFactory(o));
        QScopedPointer<QuantizeWizard> w(validWizard(&engine, dir_.filePath("buttons.safetensors")));
        QSignalSpy progress(&engine, &EngineController::quantizeProgress);
        QSignalSpy finished(&engine, &EngineController::quantizeFinished);
        w->show();
        for (int i = 0; i < 4; ++i) w->next();
        QVERIFY(progress.wait(5000));
        QVERIFY(QTest::qWaitFor([&] { return w->runPage()->eta->text().contains("left"); }, 5000));
        RunPage* run = w->runPage();
        QVERIFY(run->cancel->isEnabled());
        QVERIFY(!w->button(QWizard::BackButton)->isEnabled());
        run->cancel->click();
        QVERIFY(finished.wait(5000));
        QVERIFY(!run->cancel->isEnabled());
        QVERIFY(w->button(QWizard::BackButton)->isEnabled());
        QVERIFY2(!run->eta->text().contains("left"), qPrintable(run->eta->text()));
        QVERIFY2(!run->bar->text().contains("tensors"), qPrintable(run->bar->text()));
        QCOMPARE(run->layer->text(), QStringLiteral("Cancelled"));
    }

    void finishedQuantizationOffersTheCheckpoint() {
        FakeBackendOptions o;
        o.quantizeSteps = 5;
        o.quantizeStepMs = 5;
        EngineController engine(studiotest::fakeFactory(o));
        const QString out = dir_.filePath("done.safetensors");
        QScopedPointer<QuantizeWizard> w(validWizard(&engine, out));
        QSignalSpy open(w.data(), &QuantizeWizard::openModelRequested);
        w->show();
        for (int i = 0; i < 4; ++i) w->next();
        QVERIFY(QTest::qWaitFor([&] { return w->runPage()->isComplete(); }, 5000));
        QVERIFY(QFile::exists(out));
        QVERIFY(w->runPage()->log->toPlainText().contains("model.layers.3"));
        w->next();
        QCOMPARE(w->currentId(), int(QuantizeWizard::Finish));
        w->accept();
        QCOMPARE(open.count(), 1);
        QCOMPARE(open.first().first().toString(), out);
    }
};

QTEST_MAIN(TestStudioWizard)
#include "test_studio_wizard.moc"
