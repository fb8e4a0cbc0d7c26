// Layout at small windows (issue 15, defect 5): at 1024x700 the slider's
// labels overlapped, the info line was cut, chat bubbles were clipped instead
// of re-wrapped. With STUDIO_GRAB_DIR set, the window is also saved as PNGs.
#include "chat_panel.h"
#include "chat_view.h"
#include "markdown_view.h"
#include "message_widget.h"
#include "precision_slider.h"
#include "studio_test_util.h"
#include "theme.h"

#include <QTabWidget>

#include <QLabel>
#include <QScrollBar>
#include <QSlider>

using namespace studio;

namespace {
void grab(QWidget* w, const QString& name) {
    const QString dir = qEnvironmentVariable("STUDIO_GRAB_DIR");
    if (dir.isEmpty()) return;
    QTest::qWait(100);
    w->grab().save(dir + "/" + name + ".png");
}

// Every line of a label's text fits the label's width.
bool linesFit(const QLabel* l) {
    const QFontMetrics fm(l->font());
    for (const QString& line : l->text().split('\n'))
        if (fm.horizontalAdvance(line) > l->width()) return false;
    return true;
}
}  // namespace

class TestStudioLayout : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() {
        studiotest::isolate("test_studio_layout");
        // The real look: the style sheet's paddings and fonts set the minimum sizes.
        theme::apply(*qobject_cast<QApplication*>(QCoreApplication::instance()), theme::Mode::Light);
    }

    // The whole window fits a 1024x700 screen, in every tab of both panes.
    void windowFits1024x700() {
        auto w = studiotest::window(dir_.path());
        for (int c = 0; c < w->centerTabs()->count(); ++c)
            for (int p = 0; p < w->plotTabs()->count(); ++p) {
                w->centerTabs()->setCurrentIndex(c);
                w->plotTabs()->setCurrentIndex(p);
                w->resize(1024, 700);
                QTest::qWait(20);
                if (w->width() > 1024 || w->height() > 700) {
                    for (QWidget* x : {static_cast<QWidget*>(w->centerTabs()), static_cast<QWidget*>(w->plotTabs()),
                                       w->centerTabs()->currentWidget(), w->plotTabs()->currentWidget()})
                        qInfo() << x << x->minimumSizeHint() << x->minimumSize();
                    for (int i = 0; i < w->plotTabs()->count(); ++i) qInfo() << w->plotTabs()->widget(i) << w->plotTabs()->widget(i)->minimumSizeHint();
                    qInfo() << w->centralWidget()->minimumSizeHint() << w->findChild<QWidget*>("Sidebar")->minimumSizeHint();
                }
                QVERIFY2(w->width() <= 1024 && w->height() <= 700,
                         qPrintable(QStringLiteral("tabs %1/%2: %3x%4").arg(c).arg(p).arg(w->width()).arg(w->height())));
            }
    }

    void sliderLabelsAndInfoLineFitASmallWindow() {
        auto w = studiotest::window(dir_.path());
        for (QSize size : {QSize(1600, 1000), QSize(1024, 700)}) {
            w->resize(size);
            QTest::qWait(100);
            PrecisionSlider* p = w->chatPanel()->precision();
            const QList<QLabel*> labels = p->tickLabels();
            QCOMPARE(labels.size(), 6);
            for (int i = 0; i < labels.size(); ++i) {
                QVERIFY2(linesFit(labels[i]), qPrintable(QStringLiteral("%1 at %2 px: %3").arg(i).arg(size.width()).arg(labels[i]->text())));
                if (i > 0) QVERIFY2(labels[i - 1]->geometry().right() < labels[i]->geometry().left(), qPrintable(QString::number(i)));
            }
            // The info line shows all of its text (wrapped if it must).
            QLabel* d = p->detailLabel();
            QVERIFY(!d->text().isEmpty());
            QVERIFY2(d->height() >= d->heightForWidth(d->width()), qPrintable(QStringLiteral("%1 < %2").arg(d->height()).arg(d->heightForWidth(d->width()))));
            grab(w.get(), QStringLiteral("layout-%1").arg(size.width()));
        }
    }

    void bubblesRewrapWhenTheWindowNarrows() {
        FakeBackendOptions o;
        o.msPerTokenAt8 = 1;
        QString answer = QStringLiteral("## A heading\n\nA long paragraph ");
        for (int i = 0; i < 40; ++i) answer += QStringLiteral("that keeps going ");
        answer += QStringLiteral("\n\n- one\n- **two**\n\n```cpp\nint main() { return 0; }\n```\n");
        o.script = {answer};
        auto w = studiotest::window(dir_.path(), o);
        w->resize(1600, 1000);
        QString question;
        for (int i = 0; i < 30; ++i) question += QStringLiteral("a rather long question ");
        QVERIFY(w->chat()->send(question));
        QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 5000));
        ChatView* view = w->chatPanel()->view();
        grab(w.get(), QStringLiteral("bubbles-1600"));
        for (QSize size : {QSize(1024, 700), QSize(800, 600)}) {
            w->resize(size);
            QTest::qWait(150);
            const int vw = view->viewport()->width();
            // No empty screens below the last answer (it is what the view follows).
            const int last = view->bubble(view->bubbleCount() - 1)->geometry().bottom();
            QVERIFY2(view->widget()->height() <= qMax(view->viewport()->height(), last + 40),
                     qPrintable(QStringLiteral("content %1, last bubble ends at %2").arg(view->widget()->height()).arg(last)));
            QCOMPARE(view->horizontalScrollBar()->maximum(), 0);
            for (int r = 0; r < view->bubbleCount(); ++r) {
                MessageWidget* m = view->bubble(r);
                QVERIFY2(m->geometry().right() <= vw, qPrintable(QStringLiteral("row %1: %2 > %3").arg(r).arg(m->geometry().right()).arg(vw)));
                // Each text block is as tall as its wrapped text needs.
                for (QLabel* l : m->findChildren<QLabel*>()) {
                    if (!l->isVisible() || !l->wordWrap() || l->text().isEmpty()) continue;
                    QVERIFY2(l->height() >= l->heightForWidth(l->width()),
                             qPrintable(QStringLiteral("row %1 %2: %3 < %4").arg(r).arg(l->objectName()).arg(l->height()).arg(l->heightForWidth(l->width()))));
                    QVERIFY(l->mapTo(m, QPoint(l->width(), 0)).x() <= m->width());
                }
            }
            grab(w.get(), QStringLiteral("bubbles-%1").arg(size.width()));
        }
    }
};

QTEST_MAIN(TestStudioLayout)
#include "test_studio_layout.moc"
