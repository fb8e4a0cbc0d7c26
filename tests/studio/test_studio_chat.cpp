// Chat behaviour against the fake engine: streaming, Enter/Shift+Enter, Stop
// within one token, the slider changing the width of the next token,
// regenerate and edit-and-resend.
#include "chat_input.h"
#include "chat_panel.h"
#include "chat_view.h"
#include "precision_slider.h"
#include "quality_panel.h"
#include "quality_plot.h"
#include "status_panel.h"
#include "studio_test_util.h"

#include <QAbstractButton>
#include <QElapsedTimer>
#include <QFile>
#include <QAction>
#include <QMessageBox>
#include <QPushButton>
#include <QSlider>

using namespace studio;

class TestStudioChat : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    static bool waitIdle(ChatController* c, int ms = 10000) {
        return QTest::qWaitFor([c] { return !c->isStreaming(); }, ms);
    }

private slots:
    void initTestCase() { studiotest::isolate("test_studio_chat"); }

    void sendStreamsTokensIntoView() {
        FakeBackendOptions o;
        o.script = {"Hello", ",", " world", "!", " This", " streams", "."};
        o.msPerTokenAt8 = 15;
        auto w = studiotest::window(dir_.path(), o);
        ChatPanel* panel = w->chatPanel();
        ChatController* chat = w->chat();
        QSignalSpy textChanges(chat->model(), &QAbstractItemModel::dataChanged);
        QSignalSpy tokens(w->engine(), &EngineController::tokenReady);

        panel->input()->setPlainText(QStringLiteral("Say hello"));
        QTest::keyClick(panel->input(), Qt::Key_Return);
        QVERIFY(chat->isStreaming());
        QVERIFY(panel->input()->toPlainText().isEmpty());
        QCOMPARE(chat->model()->rowCount(), 2);
        // Partial text shows up before the answer is complete.
        QVERIFY(QTest::qWaitFor([&] { return !panel->view()->bubbleText(1).isEmpty(); }, 5000));
        QVERIFY(chat->isStreaming());
        QVERIFY(waitIdle(chat));
        QCOMPARE(tokens.count(), o.script.size());
        QCOMPARE(panel->view()->bubbleText(1), o.script.join(QString()));
        QCOMPARE(chat->model()->message(1).nTokens, int(o.script.size()));
        QCOMPARE(chat->model()->message(1).widths, QList<int>{8});
        // Text arrived in several flushes, not once at the end.
        QVERIFY(textChanges.count() > 2);
    }

    void shiftEnterAddsNewLine() {
        auto w = studiotest::window(dir_.path());
        ChatInput* in = w->chatPanel()->input();
        in->setPlainText(QStringLiteral("line one"));
        in->moveCursor(QTextCursor::End);
        QTest::keyClick(in, Qt::Key_Return, Qt::ShiftModifier);
        QTest::keyClicks(in, QStringLiteral("line two"));
        QCOMPARE(in->toPlainText(), QStringLiteral("line one\nline two"));
        QCOMPARE(w->chat()->model()->rowCount(), 0);
    }

    void stopEndsWithinOneToken() {
        FakeBackendOptions o;
        o.msPerTokenAt8 = 25;
        for (int i = 0; i < 200; ++i) o.script << QStringLiteral(" tok%1").arg(i);
        auto w = studiotest::window(dir_.path(), o);
        ChatController* chat = w->chat();
        QSignalSpy tokens(w->engine(), &EngineController::tokenReady);
        QSignalSpy finished(w->engine(), &EngineController::generationFinished);
        QVERIFY(chat->send(QStringLiteral("Count")));
        QVERIFY(QTest::qWaitFor([&] { return tokens.count() >= 3; }, 5000));
        QTest::keyClick(w->chatPanel()->input(), Qt::Key_Escape);  // Esc = Stop
        const int atStop = int(tokens.count());
        QVERIFY(finished.wait(2000) || finished.count() == 1);
        QVERIFY(waitIdle(chat));
        QVERIFY2(tokens.count() <= atStop + 1, "more than one token after Stop");
        const auto s = finished.first().at(1).value<GenerationSummary>();
        QCOMPARE(s.reason, StopReason::Cancelled);
        QCOMPARE(chat->model()->message(1).reason, StopReason::Cancelled);
        QVERIFY(w->chatPanel()->sendButton()->isVisibleTo(w.get()));
    }

    // Issue 15, defect 2: Ctrl+Q quit at once during an answer, and the
    // Quantize action claimed "Ctrl+Q, Ctrl+W".
    void quitAsksWhileAnswering() {
        FakeBackendOptions o;
        o.msPerTokenAt8 = 25;
        for (int i = 0; i < 400; ++i) o.script << QStringLiteral(" tok%1").arg(i);
        auto w = studiotest::window(dir_.path(), o);
        for (QAction* a : w->findChildren<QAction*>())
            if (a->text().contains(QStringLiteral("Quantize")))
                QVERIFY2(!a->shortcut().toString().contains(QStringLiteral("Ctrl+Q,")), qPrintable(a->shortcut().toString()));
        QVERIFY(w->chat()->send(QStringLiteral("Count")));
        QVERIFY(QTest::qWaitFor([&] { return w->chat()->isStreaming(); }, 5000));
        // Answer the question: first Cancel (the window stays), then Quit.
        auto answer = [](const QString& button) {
            QTimer::singleShot(50, [button] {
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                QVERIFY(box && box->objectName() == QStringLiteral("confirmQuit"));
                for (QAbstractButton* b : box->buttons())
                    if (b->text().remove('&') == button) b->click();
            });
        };
        answer(QStringLiteral("Cancel"));
        QVERIFY(!w->close());
        QVERIFY(w->isVisible());
        QVERIFY(w->chat()->isStreaming());
        answer(QStringLiteral("Quit"));
        QVERIFY(w->close());
        QVERIFY(waitIdle(w->chat()));
        // Idle: no question.
        auto idle = studiotest::window(dir_.path(), o);
        QVERIFY(idle->close());
    }

    void sliderChangesWidthOfNextToken() {
        FakeBackendOptions o;
        o.msPerTokenAt8 = 20;
        for (int i = 0; i < 60; ++i) o.script << QStringLiteral(" w%1").arg(i);
        auto w = studiotest::window(dir_.path(), o);
        PrecisionSlider* slider = w->chatPanel()->precision();
        QCOMPARE(slider->slider()->minimum(), 3);
        QCOMPARE(slider->slider()->maximum(), 8);
        slider->setBits(8);
        QList<int> seen;
        connect(w->engine(), &EngineController::tokenReady, this,
                [&](quint64, const QString&, const TokenStats& s) { seen << s.bits; });
        QVERIFY(w->chat()->send(QStringLiteral("Go")));
        QVERIFY(QTest::qWaitFor([&] { return seen.size() >= 4; }, 5000));
        slider->slider()->setValue(4);  // as if the user dragged it
        const int at = int(seen.size());
        QVERIFY(QTest::qWaitFor([&] { return seen.size() >= at + 4; }, 5000));
        w->chat()->stop();
        QVERIFY(waitIdle(w->chat()));
        QCOMPARE(seen.first(), 8);
        // At most the token already being decoded keeps the old width.
        for (int i = at + 1; i < seen.size(); ++i) QCOMPARE(seen[i], 4);
        QCOMPARE(w->chat()->model()->message(1).widths, (QList<int>{8, 4}));
        QCOMPARE(w->chat()->bits(), 4);
    }

    void regenerateAndEditResend() {
        FakeBackendOptions o;
        o.script = {"A", "B"};
        o.msPerTokenAt8 = 2;
        auto w = studiotest::window(dir_.path(), o);
        ChatController* chat = w->chat();
        QVERIFY(chat->send(QStringLiteral("first")));
        QVERIFY(waitIdle(chat));
        QVERIFY(chat->send(QStringLiteral("second")));
        QVERIFY(waitIdle(chat));
        QCOMPARE(chat->model()->rowCount(), 4);
        QVERIFY(chat->regenerate());
        QVERIFY(waitIdle(chat));
        QCOMPARE(chat->model()->rowCount(), 4);
        QCOMPARE(chat->model()->message(3).text, QStringLiteral("AB"));
        QVERIFY(chat->editAndResend(0, QStringLiteral("edited")));
        QVERIFY(waitIdle(chat));
        QCOMPARE(chat->model()->rowCount(), 2);
        QCOMPARE(chat->model()->message(0).text, QStringLiteral("edited"));
        QCOMPARE(w->chatPanel()->view()->bubbleCount(), 2);
        chat->clear();
        QCOMPARE(chat->model()->rowCount(), 0);
    }

    void plainModelShowsFullPrecisionOnly() {
        auto w = studiotest::window(dir_.path(), {}, QStringLiteral("/fake/SmolLM2-135M-Instruct.Q4_1.gguf"));
        PrecisionSlider* s = w->chatPanel()->precision();
        QVERIFY(!s->slider()->isEnabled());
        QCOMPARE(s->bits(), 0);
        QSignalSpy wizard(s, &PrecisionSlider::wizardRequested);
        auto* button = s->findChild<QPushButton*>();
        QVERIFY(button && button->isVisibleTo(s));
        button->click();
        QCOMPARE(wizard.count(), 1);
    }

    void statusBarShowsModelWidthAndSpeed() {
        FakeBackendOptions o;
        o.script = {"a", "b", "c", "d", "e"};
        o.msPerTokenAt8 = 5;
        auto w = studiotest::window(dir_.path(), o);
        w->chatPanel()->precision()->setBits(8);
        QVERIFY(w->chat()->send(QStringLiteral("x")));
        QVERIFY(waitIdle(w->chat()));
        const QString s = w->status()->text();
        QVERIFY2(s.contains("SmolLM2-135M.anyprec"), qPrintable(s));
        QVERIFY2(s.contains("8-bit"), qPrintable(s));
        QVERIFY2(s.contains("tok/s"), qPrintable(s));
        QVERIFY2(s.contains("TTFT"), qPrintable(s));
        QVERIFY2(s.contains("Memory"), qPrintable(s));
    }

    // Issue 15, defect 4: a chat turn waited silently for the whole
    // perplexity measurement (about 80 s); now it answers between two windows.
    void chatAnswersDuringAMeasurement() {
        QTemporaryDir data;
        const QString text = data.filePath("eval.txt");
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        FakeBackendOptions o;
        o.script = {"quick", " answer"};
        o.msPerTokenAt8 = 5;
        o.msPerPerplexityWindow = 60;  // 6 widths x 30 windows: about 11 s in all
        auto w = studiotest::window(data.path(), o);
        QualityPanel* q = w->quality();
        q->setTextPath(text);
        q->setWindows(30);
        QSignalSpy progress(w->engine(), &EngineController::perplexityProgress);
        QSignalSpy finished(w->engine(), &EngineController::perplexityFinished);
        q->measure();
        QVERIFY(progress.wait(3000));
        QElapsedTimer clock;
        clock.start();
        QVERIFY(w->chat()->send(QStringLiteral("still there?")));
        QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 4000));
        QVERIFY2(clock.elapsed() < 2000, qPrintable(QString::number(clock.elapsed())));
        QCOMPARE(w->chat()->model()->message(1).text, QStringLiteral("quick answer"));
        QCOMPARE(finished.count(), 0);  // the measurement was paused, not ended
        QVERIFY(q->isMeasuring());
        // It carries on and completes every width afterwards.
        QVERIFY(finished.wait(20000));
        QCOMPARE(finished.first().at(1).toString(), QString());
        QCOMPARE(q->plot()->perplexities().size(), 6);
    }

    // While paused for the chat, the measurement says so.
    void measurementSaysWhyItPauses() {
        QTemporaryDir data;
        const QString text = data.filePath("eval.txt");
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        FakeBackendOptions o;
        o.msPerTokenAt8 = 40;
        o.msPerPerplexityWindow = 40;
        auto w = studiotest::window(data.path(), o);
        QualityPanel* q = w->quality();
        q->setTextPath(text);
        q->setWindows(30);
        QSignalSpy progress(w->engine(), &EngineController::perplexityProgress);
        q->measure();
        QVERIFY(progress.wait(3000));
        QVERIFY(w->chat()->send(QStringLiteral("hello")));
        QVERIFY(q->progressText().contains("paused while the chat answers"));
        w->chat()->stop();
        QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 4000));
        w->engine()->cancelPerplexity();
        QVERIFY(QTest::qWaitFor([&] { return !q->isMeasuring(); }, 4000));
    }
};

QTEST_MAIN(TestStudioChat)
#include "test_studio_chat.moc"
