// Side-by-side comparison: 2..4 widths, one prompt, columns stream together
// (interleaved) with their own stats; Stop ends them all.
#include "compare_column.h"
#include "comparison_view.h"
#include "speed_plot.h"
#include "studio_test_util.h"

#include <QCheckBox>
#include <QTabWidget>

using namespace studio;

class TestStudioCompare : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() { studiotest::isolate("test_studio_compare"); }

    void selectionMustBeTwoToFour() {
        auto w = studiotest::window(dir_.path());
        ComparisonView* v = w->comparison();
        v->setPrompt(QStringLiteral("hi"));
        v->setSelectedWidths({4});
        QVERIFY(!v->run());
        v->setSelectedWidths({3, 4, 5, 6, 8});
        QVERIFY(!v->run());
        v->setSelectedWidths({3, 8});
        v->setPrompt(QString());
        QVERIFY(!v->run());
    }

    void columnsStreamInterleaved() {
        FakeBackendOptions o;
        o.script = {"one", " two", " three", " four", " five"};
        o.msPerTokenAt8 = 10;
        auto w = studiotest::window(dir_.path(), o);
        ComparisonView* v = w->comparison();
        v->setSelectedWidths({3, 5, 8});
        v->setPrompt(QStringLiteral("count"));
        QList<int> order;
        connect(w->engine(), &EngineController::compareToken, this,
                [&](quint64, int col, const QString&, const TokenStats&) { order << col; });
        QSignalSpy done(w->engine(), &EngineController::compareFinished);
        QVERIFY(v->run());
        QCOMPARE(v->columnCount(), 3);
        QVERIFY(done.wait(5000));
        QVERIFY(QTest::qWaitFor([&] { return !v->isRunning(); }, 1000));
        // Token by token: the first three tokens come from three different columns.
        QCOMPARE(order.mid(0, 3), (QList<int>{0, 1, 2}));
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(v->column(i)->text(), o.script.join(QString()));
            QCOMPARE(v->column(i)->tokenCount(), 5);
        }
        QCOMPARE(v->column(0)->bits(), 3);
        QCOMPARE(v->column(2)->bits(), 8);
    }

    // Issue 15, defect 3: after a run the window grew wider than the screen
    // (the columns' one-line stats set the minimum width).
    void windowKeepsItsWidthAfterARun() {
        FakeBackendOptions o;
        o.script = {"a", " b", " c"};
        o.msPerTokenAt8 = 2;
        auto w = studiotest::window(dir_.path(), o);
        w->resize(1024, 700);
        QTest::qWait(50);
        const int before = w->width();
        QCOMPARE(before, 1024);
        w->centerTabs()->setCurrentIndex(1);
        ComparisonView* v = w->comparison();
        v->setSelectedWidths({3, 4, 5, 8});
        v->setPrompt(QStringLiteral("go"));
        QSignalSpy done(w->engine(), &EngineController::compareFinished);
        QVERIFY(v->run());
        QVERIFY(done.wait(5000));
        QTest::qWait(100);
        QCOMPARE(w->width(), before);
        QVERIFY2(w->minimumSizeHint().width() <= 1024, qPrintable(QString::number(w->minimumSizeHint().width())));
        // Every check box shows its whole label.
        for (QCheckBox* b : v->findChildren<QCheckBox*>())
            QVERIFY2(b->width() >= b->sizeHint().width(), qPrintable(b->text()));
    }

    // Issue 15, defect 6: compare runs did not reach the speed plot.
    void compareTokensReachTheSpeedPlot() {
        FakeBackendOptions o;
        o.script = {"a", " b", " c", " d", " e", " f"};
        o.msPerTokenAt8 = 5;
        auto w = studiotest::window(dir_.path(), o);
        ComparisonView* v = w->comparison();
        v->setSelectedWidths({3, 5, 8});
        v->setPrompt(QStringLiteral("go"));
        QSignalSpy done(w->engine(), &EngineController::compareFinished);
        QVERIFY(v->run());
        QVERIFY(done.wait(5000));
        for (int b : {3, 5, 8}) {
            QCOMPARE(w->speedPlot()->pointCount(b), 5);  // every token but the first (prompt)
            QCOMPARE(w->speedPlot()->segmentCount(b), 1);
        }
    }

    void stopEndsAllColumns() {
        FakeBackendOptions o;
        o.msPerTokenAt8 = 15;
        for (int i = 0; i < 300; ++i) o.script << QStringLiteral(" z");
        auto w = studiotest::window(dir_.path(), o);
        ComparisonView* v = w->comparison();
        v->setSelectedWidths({4, 8});
        v->setPrompt(QStringLiteral("go"));
        QSignalSpy tokens(w->engine(), &EngineController::compareToken);
        QSignalSpy done(w->engine(), &EngineController::compareFinished);
        QVERIFY(v->run());
        QVERIFY(QTest::qWaitFor([&] { return tokens.count() >= 4; }, 5000));
        v->stop();
        QVERIFY(done.wait(3000));
        QVERIFY(tokens.count() < 40);
    }
};

QTEST_MAIN(TestStudioCompare)
#include "test_studio_compare.moc"
