// Plots: the speed plot receives a point per decoded token (one series per
// width), the memory plot stacks the parent's parts, the quality plot gets
// perplexity per width from the background job (and its cache), and plots
// save as PNG/PDF and export CSV.
#include "chat_panel.h"
#include "memory_plot.h"
#include "precision_slider.h"
#include "quality_panel.h"
#include "quality_plot.h"
#include "speed_plot.h"
#include "studio_test_util.h"
#include "theme.h"

#include <QFile>
#include <QPushButton>
#include <QSlider>
#include <qcustomplot.h>

using namespace studio;

class TestStudioPlots : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() { studiotest::isolate("test_studio_plots"); }

    void speedPlotGetsPointsPerWidth() {
        FakeBackendOptions o;
        o.msPerTokenAt8 = 5;
        o.script.clear();
        for (int i = 0; i < 20; ++i) o.script << QStringLiteral(" t");
        auto w = studiotest::window(dir_.path(), o);
        w->chatPanel()->precision()->setBits(8);
        QVERIFY(w->chat()->send(QStringLiteral("one")));
        QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 5000));
        w->chatPanel()->precision()->setBits(3);
        QVERIFY(w->chat()->send(QStringLiteral("two")));
        QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 5000));
        SpeedPlot* p = w->speedPlot();
        QCOMPARE(p->pointCount(8), 19);  // every token but the first (prompt time)
        QCOMPARE(p->pointCount(3), 19);
        const auto means = p->meanSpeeds();
        QVERIFY(means.value(3) > means.value(8));  // the fake, like the engine, is faster at low widths
        QVERIFY(p->csv().count('\n') == 1 + 38);
        // Issue 15, defect 6: a second answer at the same width is a new
        // segment, not joined to the first by a straight line.
        w->chatPanel()->precision()->setBits(8);
        QVERIFY(w->chat()->send(QStringLiteral("three")));
        QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 5000));
        QCOMPARE(p->segmentCount(8), 2);
        QCOMPARE(p->pointCount(8), 38);
        QCOMPARE(p->segmentCount(3), 1);
        // ... and a newly loaded model starts with an empty plot.
        QSignalSpy loaded(w->engine(), &EngineController::modelChanged);
        w->openModel(QStringLiteral("/fake/Other.anyprec.safetensors"));
        QVERIFY(loaded.wait(5000));
        QCOMPARE(p->pointCount(8), 0);
        p->clear();
        QCOMPARE(p->pointCount(8), 0);
    }

    void speedPlotHistoryIsBounded() {
        SpeedPlot p;
        for (int i = 0; i < SpeedPlot::kMaxPointsPerWidth + 500; ++i) p.addPoint(i * 0.01, 50, 4);
        QVERIFY(p.pointCount(4) <= SpeedPlot::kMaxPointsPerWidth);
    }

    void memoryPlotStacksParts() {
        MemoryPlot p;
        const ModelInfo ap = FakeBackend::fakeModelInfo("/x/m.anyprec.safetensors");
        p.setModel(ap);
        // bitplanes, tables, 6 separate widths, unquantized, KV, activations
        QCOMPARE(p.segmentCount(), 2 + 6 + 1 + 2);
        QVERIFY(p.csv().contains("Bitplanes"));
        QVERIFY(p.csv().contains("KV cache"));
        // A session's code copy (Settings: Code copy) stacks on the any-precision bar only.
        p.setRuntimeBytes(ap.kvBytes, ap.activationBytes, 160ull << 20);
        QCOMPARE(p.segmentCount(), 2 + 6 + 1 + 2 + 1);
        QVERIFY(p.csv().contains("Copy of the active width's codes"));
        p.setModel(FakeBackend::fakeModelInfo("/x/m.gguf"));
        QCOMPARE(p.segmentCount(), 3);
    }

    // Issue 15, defect 8: the legend covered the right-hand bar, and segment
    // colours repeated the width colours (KV cache = 6-bit green, bitplanes = 8-bit blue).
    void memoryLegendClearsBarsAndColoursAreDistinct() {
        MemoryPlot p;
        p.resize(460, 520);
        p.show();
        p.setModel(FakeBackend::fakeModelInfo("/x/m.anyprec.safetensors"));
        QVERIFY(QTest::qWaitForWindowExposed(&p));
        p.plot()->replot(QCustomPlot::rpImmediateRefresh);
        const QRect legend = p.plot()->legend->outerRect();
        QVERIFY(legend.isValid());
        QCPAxis* x = p.plot()->xAxis;
        QCPAxis* y = p.plot()->yAxis;
        for (int bar = 1; bar <= 2; ++bar) {
            // The whole stacked bar, from 0 to its top.
            double top = 0;
            for (int i = 0; i < p.plot()->plottableCount(); ++i)
                if (auto* b = qobject_cast<QCPBars*>(p.plot()->plottable(i)))
                    for (auto d = b->data()->constBegin(); d != b->data()->constEnd(); ++d)
                        if (qFuzzyCompare(d->key, double(bar))) top += d->value;
            const QRect r(QPoint(int(x->coordToPixel(bar - 0.3)), int(y->coordToPixel(top))),
                          QPoint(int(x->coordToPixel(bar + 0.3)), int(y->coordToPixel(0))));
            QVERIFY2(!legend.intersects(r), qPrintable(QStringLiteral("bar %1").arg(bar)));
        }
        QList<QRgb> seen;
        for (const QColor& c : p.segmentColors()) {
            QVERIFY2(!seen.contains(c.rgb()), qPrintable(c.name()));
            seen << c.rgb();
        }
        for (int b = 3; b <= 8; ++b) QVERIFY(!seen.contains(theme::widthColor(b).rgb()));
    }

    void qualityPlotGetsPerplexityAndCaches() {
        const QString text = dir_.filePath("eval.txt");
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        FakeBackendOptions o;
        o.msPerTokenAt8 = 1;
        auto w = studiotest::window(dir_.path(), o);
        QualityPanel* q = w->quality();
        q->setTextPath(text);
        q->setWindows(2);
        QSignalSpy ready(w->engine(), &EngineController::perplexityReady);
        QSignalSpy done(w->engine(), &EngineController::perplexityFinished);
        q->measure();
        QVERIFY(done.wait(5000));
        QCOMPARE(ready.count(), 6);
        QCOMPARE(q->plot()->perplexities().size(), 6);
        QVERIFY(q->plot()->perplexities().value(3) > q->plot()->perplexities().value(8));
        // Cached: a second measurement asks the engine for nothing.
        q->measure();
        QVERIFY(!q->isMeasuring());
        // The scatter needs speeds at the same widths.
        q->plot()->setScatterVisible(true);
        QCOMPARE(q->plot()->scatterPointCount(), 0);
        q->plot()->setSpeeds({{3, 80.0}, {8, 40.0}});
        QCOMPARE(q->plot()->scatterPointCount(), 2);
        QVERIFY(q->plot()->csv().contains("3,"));
        // Issue 15, defect 9: the source row was written as bits=-1.
        q->plot()->setPerplexity(-1, 50.0);
        QVERIFY2(q->plot()->csv().contains("\nsource,50.0000,"), qPrintable(q->plot()->csv()));
        QVERIFY(!q->plot()->csv().contains("-1,"));
        // A new window over the same cache file shows the cached values at once.
        auto w2 = studiotest::window(dir_.path(), o);
        w2->quality()->setWindows(2);
        w2->quality()->setTextPath(text);
        QCOMPARE(w2->quality()->plot()->perplexities().size(), 6);
    }

    // Issue 15, defect 6: the scatter showed only widths used in chat, with no
    // way to fill in the rest.
    void scatterOffersToMeasureMissingSpeeds() {
        const QString text = dir_.filePath("eval2.txt");
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        FakeBackendOptions o;
        o.msPerTokenAt8 = 1;
        QTemporaryDir data;
        auto w = studiotest::window(data.path(), o);
        QualityPanel* q = w->quality();
        q->setTextPath(text);
        q->setWindows(1);
        QSignalSpy done(w->engine(), &EngineController::perplexityFinished);
        q->measure();
        QVERIFY(done.wait(5000));
        q->plot()->setScatterVisible(true);
        QCOMPARE(q->plot()->scatterPointCount(), 0);
        QPushButton* b = q->plot()->measureSpeedButton();
        QVERIFY(!b->isHidden());
        QVERIFY(b->text().contains("6"));
        QSignalSpy compared(w->engine(), &EngineController::compareFinished);
        b->click();
        QVERIFY(compared.wait(10000));
        QTRY_COMPARE(q->plot()->scatterPointCount(), 6);
        QVERIFY(b->isHidden());
    }

    // Issue 15, defect 7: "perplexity cancelled" stayed up during the next run.
    void cancelledNoteDoesNotOutliveTheNextRun() {
        const QString text = dir_.filePath("eval3.txt");
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        FakeBackendOptions o;
        o.msPerPerplexityWindow = 30;
        QTemporaryDir data;
        auto w = studiotest::window(data.path(), o);
        QualityPanel* q = w->quality();
        q->setTextPath(text);
        q->setWindows(20);
        QSignalSpy progress(w->engine(), &EngineController::perplexityProgress);
        QSignalSpy done(w->engine(), &EngineController::perplexityFinished);
        q->measure();
        QVERIFY(progress.wait(3000));
        w->engine()->cancelPerplexity();
        QVERIFY(done.wait(3000));
        QVERIFY(q->plot()->note().contains("cancelled"));
        progress.clear();
        q->measure();
        QVERIFY(progress.wait(3000));
        QVERIFY2(!q->plot()->note().contains("cancelled"), qPrintable(q->plot()->note()));
        w->engine()->cancelPerplexity();
        QVERIFY(done.wait(3000));
    }

    void plotsSaveImagesAndCsv() {
        MemoryPlot p;
        p.resize(600, 400);
        p.setModel(FakeBackend::fakeModelInfo("/x/m.anyprec.safetensors"));
        const QString png = dir_.filePath("memory.png"), pdf = dir_.filePath("memory.pdf"),
                      csv = dir_.filePath("memory.csv");
        QVERIFY(p.saveImage(png));
        QVERIFY(p.saveImage(pdf));
        QVERIFY(p.saveCsv(csv));
        QVERIFY(QFileInfo(png).size() > 1000);
        QVERIFY(QFileInfo(pdf).size() > 500);
        QFile c(csv);
        QVERIFY(c.open(QIODevice::ReadOnly));
        QVERIFY(c.readAll().startsWith("segment,"));
    }
};

QTEST_MAIN(TestStudioPlots)
#include "test_studio_plots.moc"
