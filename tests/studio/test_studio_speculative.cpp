// Speculative decoding and the auto width in the chat, against the fake
// engine: what the requests carry, the draft chooser following the slider,
// the slider following the engine's widths in auto mode, the live acceptance
// figures and the rounds plot, and the saved choices.
#include "acceptance_plot.h"
#include "app_settings.h"
#include "chat_panel.h"
#include "decode_mode_bar.h"
#include "precision_slider.h"
#include "speculation_meter.h"
#include "studio_test_util.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QRegularExpression>
#include <QSlider>

using namespace studio;

namespace {

FakeBackendOptions longScript(int n = 60, double ms = 6) {
    FakeBackendOptions o;
    o.msPerTokenAt8 = ms;
    o.promptMs = 5;
    for (int i = 0; i < n; ++i) o.script << QStringLiteral(" w%1").arg(i);
    return o;
}

// Sends one message and waits for the answer; returns the request the engine got.
GenerationRequest sendAndWait(MainWindow* w, const QString& text = QStringLiteral("Go")) {
    QSignalSpy req(w->engine(), &EngineController::requestGenerate);
    if (!w->chat()->send(text)) qWarning("send refused");
    if (!QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 20000)) qWarning("answer did not finish");
    return req.isEmpty() ? GenerationRequest{} : req.first().first().value<GenerationRequest>();
}

TokenStats tok(int index, int bits, double s, bool drafted = false, int accepted = -1, int proposed = 0) {
    TokenStats t;
    t.index = index;
    t.bits = bits;
    t.tokenS = s;
    t.drafted = drafted;
    t.roundAccepted = accepted;
    t.roundProposed = proposed;
    return t;
}

}  // namespace

class TestStudioSpeculative : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() { studiotest::isolate("test_studio_speculative"); }
    void init() { QSettings().clear(); }

    // The figures from hand-made events: two rounds (3 of 4, then 0 of 2
    // drafts accepted) after plain tokens at the same width.
    void meterComputesAcceptanceAndSpeedup() {
        SpeculationMeter m;
        m.add(tok(0, 8, 1.0));       // prompt + first token: counted nowhere
        m.add(tok(1, 8, 0.10));
        m.add(tok(2, 8, 0.10));      // plain: 2 tokens in 0.2 s = 10 tok/s
        m.add(tok(3, 8, 0.05, true));
        m.add(tok(4, 8, 0.05, true));
        m.add(tok(5, 8, 0.05, true));
        m.add(tok(6, 8, 0.05, false, 3, 4));  // round 1: 4 tokens in 0.2 s
        m.add(tok(7, 8, 0.10, false, 0, 2));  // round 2: 1 token in 0.1 s
        QCOMPARE(m.rounds(), 2);
        QCOMPARE(m.proposed(), 6);
        QCOMPARE(m.accepted(), 3);
        QCOMPARE(m.acceptance(), 0.5);
        QCOMPARE(m.tokensPerPass(), 2.5);
        QCOMPARE(m.plainTps(8), 10.0);
        QVERIFY(qAbs(m.speculativeTps(8) - 5 / 0.3) < 1e-9);
        QVERIFY(qAbs(m.speedup(8) - (5 / 0.3) / 10.0) < 1e-9);
        QCOMPARE(m.speedup(4), 0.0);  // no baseline at 4 bits: unknown, not made up
        // A new answer resets the answer's figures but keeps the session's baseline.
        m.add(tok(0, 8, 1.0));
        QCOMPARE(m.rounds(), 0);
        QCOMPARE(m.acceptance(), 0.0);
        QCOMPARE(m.plainTps(8), 10.0);
    }

    void toggleSendsDraftBits() {
        auto w = studiotest::window(dir_.path(), longScript(20));
        DecodeModeBar* bar = w->chatPanel()->decodeMode();
        QVERIFY(bar->speculativeBox()->isEnabled());
        QVERIFY(!bar->draftCombo()->isEnabled());  // off: nothing to choose
        GenerationRequest r = sendAndWait(w.get());
        QCOMPARE(r.draftBits, 0);
        QCOMPARE(r.targetTps, 0.0);

        bar->speculativeBox()->setChecked(true);
        QVERIFY(bar->draftCombo()->isEnabled());
        QCOMPARE(bar->draftCombo()->currentData().toInt(), 4);  // the default draft width
        r = sendAndWait(w.get());
        QCOMPARE(r.bits, 8);
        QCOMPARE(r.draftBits, 4);
        QCOMPARE(r.targetTps, 0.0);

        bar->draftCombo()->setCurrentIndex(bar->draftCombo()->findData(6));
        emit bar->draftCombo()->activated(bar->draftCombo()->currentIndex());  // as a user's pick
        QCOMPARE(sendAndWait(w.get()).draftBits, 6);

        bar->speculativeBox()->setChecked(false);
        QCOMPARE(sendAndWait(w.get()).draftBits, 0);
    }

    void draftChooserFollowsSlider() {
        auto w = studiotest::window(dir_.path());
        DecodeModeBar* bar = w->chatPanel()->decodeMode();
        QSlider* slider = w->chatPanel()->precision()->slider();
        bar->speculativeBox()->setChecked(true);
        QCOMPARE(bar->offeredDraftWidths(), (QList<int>{3, 4, 5, 6, 7}));
        slider->setValue(5);
        QCOMPARE(bar->offeredDraftWidths(), (QList<int>{3, 4}));
        QCOMPARE(bar->draftBits(), 4);
        slider->setValue(4);
        QCOMPARE(bar->offeredDraftWidths(), QList<int>{3});
        QCOMPARE(bar->draftBits(), 3);
        QCOMPARE(w->chat()->draftBits(), 3);  // what the next request carries
        slider->setValue(8);
        QCOMPARE(bar->draftBits(), 4);  // the user's pick comes back once it is narrower again
        slider->setValue(3);            // the seed: nothing narrower to draft with
        QVERIFY(bar->offeredDraftWidths().isEmpty());
        QVERIFY(!bar->draftCombo()->isEnabled());
        QCOMPARE(bar->draftBits(), 0);
        QCOMPARE(w->chat()->draftBits(), 0);
        QVERIFY(bar->statsLabel()->text().contains(QStringLiteral("needs a width above 3-bit")));
    }

    void plainModelDisablesBoth() {
        QSettings().setValue("chat/speculative", true);
        auto w = studiotest::window(dir_.path(), {}, QStringLiteral("/fake/plain.gguf"));
        DecodeModeBar* bar = w->chatPanel()->decodeMode();
        QVERIFY(!bar->speculativeBox()->isEnabled());
        QVERIFY(!bar->autoBox()->isEnabled());
        QVERIFY(bar->speculativeChosen());  // the choice is kept for the next any-precision model
        QCOMPARE(bar->draftBits(), 0);
        QCOMPARE(sendAndWait(w.get()).draftBits, 0);
        QVERIFY(w->chat()->model()->message(1).text.size() > 0);  // the answer came, not an engine refusal
    }

    void autoSendsTargetAndSliderFollows() {
        auto w = studiotest::window(dir_.path(), longScript(40, 20));
        DecodeModeBar* bar = w->chatPanel()->decodeMode();
        PrecisionSlider* precision = w->chatPanel()->precision();
        precision->setBits(7);
        bar->speculativeBox()->setChecked(true);
        bar->autoBox()->setChecked(true);
        QVERIFY(!bar->speculativeBox()->isChecked());  // the engine runs one or the other
        bar->targetSpin()->setValue(80);
        QVERIFY(precision->autoMode());

        QList<int> widths;
        connect(w->chat(), &ChatController::tokenStats, this, [&](const TokenStats& s) { widths << s.bits; });
        const GenerationRequest r = sendAndWait(w.get());
        QCOMPARE(r.targetTps, 80.0);
        QCOMPARE(r.draftBits, 0);
        QCOMPARE(r.bits, 0);  // every width up to the parent is the engine's to pick
        QCOMPARE(widths.size(), 40);
        // At 20 ms per 8-bit token, 80 tok/s needs narrower widths: the fake's governor mixes them.
        QVERIFY2(QSet<int>(widths.begin(), widths.end()).size() > 1, "the engine should have used several widths");
        QCOMPARE(precision->shownBits(), widths.last());
        // The answer's badge lists each width once, not every switch.
        const QList<int> noted = w->chat()->model()->message(1).widths;
        QCOMPARE(QSet<int>(noted.begin(), noted.end()), QSet<int>(widths.begin(), widths.end()));
        QCOMPARE(int(noted.size()), int(QSet<int>(widths.begin(), widths.end()).size()));
        QVERIFY(precision->findChild<QLabel*>(QStringLiteral("PrecisionValue"))->text().startsWith(QStringLiteral("auto")));
        QCOMPARE(precision->bits(), 7);  // the manual width is untouched
        QCOMPARE(AppSettings().preferredBits(), 7);
        QVERIFY(bar->statsLabel()->text().contains(QStringLiteral("last token %1-bit").arg(widths.last())));

        // Taking the slider off the auto stop by hand leaves auto mode.
        const int hand = precision->shownBits() == 6 ? 5 : 6;  // a move the slider will report
        precision->slider()->setValue(hand);
        QVERIFY(!precision->autoMode());
        QVERIFY(!bar->autoBox()->isChecked());
        QCOMPARE(w->chat()->targetTps(), 0.0);
        const GenerationRequest manual = sendAndWait(w.get());
        QCOMPARE(manual.targetTps, 0.0);
        QCOMPARE(manual.bits, hand);
    }

    void acceptanceLabelAndPlotFollowEvents() {
        auto w = studiotest::window(dir_.path(), longScript(60));
        DecodeModeBar* bar = w->chatPanel()->decodeMode();
        auto* plot = w->findChild<AcceptancePlot*>();
        QVERIFY(plot);
        QCOMPARE(plot->roundCount(), 0);

        // Speculative before any plain 8-bit answer: no baseline, so no speed-up figure.
        bar->speculativeBox()->setChecked(true);
        QSignalSpy done(w->chat(), &ChatController::turnFinished);
        sendAndWait(w.get());
        QVERIFY(bar->statsLabel()->text().contains(QStringLiteral("no plain 8-bit tokens measured yet")));

        // A plain answer gives the baseline, and the rounds plot keeps the last speculative answer.
        const int roundsBefore = plot->roundCount();
        QVERIFY(roundsBefore > 0);
        bar->speculativeBox()->setChecked(false);
        sendAndWait(w.get());
        QCOMPARE(plot->roundCount(), roundsBefore);

        bar->speculativeBox()->setChecked(true);
        int drafted = 0, rounds = 0, acceptedSum = 0, proposedSum = 0;
        QStringList liveLabels;
        connect(w->chat(), &ChatController::tokenStats, this, [&](const TokenStats& s) {
            drafted += s.drafted;
            if (s.endsRound()) {
                ++rounds;
                acceptedSum += s.roundAccepted;
                proposedSum += s.roundProposed;
                liveLabels << bar->statsLabel()->text();
            }
        });
        done.clear();
        sendAndWait(w.get());
        QCOMPARE(done.count(), 1);
        const auto summary = done.first().first().value<GenerationSummary>();
        QVERIFY(summary.rounds > 2);
        // Events and the engine's totals agree, and the plot holds every round of this answer.
        QCOMPARE(rounds, summary.rounds);
        QCOMPARE(acceptedSum, summary.accepted);
        QCOMPARE(proposedSum, summary.drafted);
        QCOMPARE(drafted, summary.accepted);
        QCOMPARE(plot->roundCount(), summary.rounds);
        int plotted = 0;
        for (int i = 0; i < plot->roundCount(); ++i) plotted += plot->acceptedAt(i);
        QCOMPARE(plotted, summary.accepted);
        QVERIFY(plot->csv().count('\n') == summary.rounds + 1);
        // The label moved while the answer streamed, and ends on the engine's figures.
        QVERIFY(QSet<QString>(liveLabels.begin(), liveLabels.end()).size() > 1);
        const QString text = bar->statsLabel()->text();
        const QRegularExpression re(QStringLiteral("^accepted (\\d+)% \\x{00b7} ([0-9.]+) tokens/pass \\x{00b7} ([0-9.]+)\\x{00d7} vs plain 8-bit$"));
        const auto m = re.match(text);
        QVERIFY2(m.hasMatch(), qPrintable(text));
        QCOMPARE(m.captured(1).toInt(), qRound(100.0 * summary.accepted / summary.drafted));
        QCOMPARE(m.captured(2), QString::number(double(summary.accepted + summary.rounds) / summary.rounds, 'f', 1));
        // The speed-up shown is the measured one: this answer's rounds over the plain answer's tokens.
        const SpeculationMeter& meter = bar->meter();
        QVERIFY(meter.plainTps(8) > 0);
        QCOMPARE(m.captured(3), QString::number(meter.speculativeTps(8) / meter.plainTps(8), 'f', 2));
    }

    void fakeRoundsAreDeterministic() {
        // Same seed, same rounds: GUI tests and screenshots can rely on the script.
        QList<QList<int>> runs;
        for (int run = 0; run < 2; ++run) {
            auto w = studiotest::window(dir_.path(), longScript(30, 2));
            w->chatPanel()->decodeMode()->speculativeBox()->setChecked(true);
            QList<int> acc;
            connect(w->chat(), &ChatController::tokenStats, this, [&](const TokenStats& s) {
                if (s.endsRound()) acc << s.roundAccepted;
            });
            sendAndWait(w.get());
            runs << acc;
        }
        QVERIFY(!runs[0].isEmpty());
        QCOMPARE(runs[0], runs[1]);
    }

    void choicesPersist() {
        {
            auto w = studiotest::window(dir_.path());
            DecodeModeBar* bar = w->chatPanel()->decodeMode();
            bar->speculativeBox()->setChecked(true);
            bar->draftCombo()->setCurrentIndex(bar->draftCombo()->findData(5));
            emit bar->draftCombo()->activated(bar->draftCombo()->currentIndex());
            bar->targetSpin()->setValue(55);
        }
        AppSettings s;
        QVERIFY(s.speculative());
        QCOMPARE(s.draftBits(), 5);
        QVERIFY(!s.autoWidth());
        QCOMPARE(s.targetTps(), 55.0);
        {
            auto w = studiotest::window(dir_.path());
            DecodeModeBar* bar = w->chatPanel()->decodeMode();
            QVERIFY(bar->speculativeBox()->isChecked());
            QCOMPARE(bar->draftBits(), 5);
            QCOMPARE(bar->targetSpin()->value(), 55.0);
            QCOMPARE(w->chat()->draftBits(), 5);
            bar->autoBox()->setChecked(true);
        }
        QVERIFY(AppSettings().autoWidth());
        QVERIFY(!AppSettings().speculative());
        auto w = studiotest::window(dir_.path());
        QVERIFY(w->chatPanel()->decodeMode()->autoBox()->isChecked());
        QVERIFY(w->chatPanel()->precision()->autoMode());
        QCOMPARE(w->chat()->targetTps(), 55.0);
    }
};

QTEST_MAIN(TestStudioSpeculative)
#include "test_studio_speculative.moc"
