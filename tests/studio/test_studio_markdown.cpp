// Answers render as Markdown: prose through Qt's Markdown support, fenced
// code as monospace blocks with a Copy button, also while the answer streams.
#include "chat_panel.h"
#include "chat_view.h"
#include "markdown_view.h"
#include "message_widget.h"
#include "studio_test_util.h"

#include <QClipboard>
#include <QLabel>
#include <QTextBlock>
#include <QTextDocument>
#include <QToolButton>

using namespace studio;

class TestStudioMarkdown : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() { studiotest::isolate("test_studio_markdown"); }

    void splitsFencedCode() {
        const auto segs = splitMarkdown(QStringLiteral("# Title\n\nText with `code`.\n\n```python\nprint(1)\n\nprint(2)\n```\nAfter.\n~~~\nraw\n~~~"));
        QCOMPARE(segs.size(), 4);
        QVERIFY(!segs[0].code);
        QVERIFY(segs[0].text.contains("# Title"));
        QVERIFY(segs[1].code);
        QCOMPARE(segs[1].language, QStringLiteral("python"));
        QCOMPARE(segs[1].text, QStringLiteral("print(1)\n\nprint(2)"));
        QCOMPARE(segs[2].text, QStringLiteral("After."));
        QVERIFY(segs[3].code);
        QCOMPARE(segs[3].text, QStringLiteral("raw"));
        // A shorter fence inside a longer one does not close it.
        const auto nested = splitMarkdown(QStringLiteral("````md\n```\ninner\n```\n````"));
        QCOMPARE(nested.size(), 1);
        QCOMPARE(nested[0].text, QStringLiteral("```\ninner\n```"));
        // Mid-stream: an open fence already is code.
        const auto open = splitMarkdown(QStringLiteral("Here:\n```js\nlet x ="));
        QCOMPARE(open.size(), 2);
        QVERIFY(open[1].code);
        QCOMPARE(open[1].text, QStringLiteral("let x ="));
        QVERIFY(splitMarkdown(QString()).isEmpty());
    }

    void rendersMarkdownAndCopiesCode() {
        MarkdownView v;
        v.resize(500, 400);
        v.setMarkdown(QStringLiteral("## Heading\n\n- **bold** item\n- *italic* item\n\nUse `ls`.\n\n```sh\nls -la\n```\n"));
        QCOMPARE(v.blockCount(), 2);
        auto* prose = qobject_cast<QLabel*>(v.block(0));
        QVERIFY(prose);
        QCOMPARE(prose->textFormat(), Qt::MarkdownText);
        // What Qt makes of it: a heading, a list, bold and italic, inline code in a fixed font.
        QTextDocument doc;
        doc.setMarkdown(prose->text());
        QCOMPARE(doc.begin().blockFormat().headingLevel(), 2);
        QVERIFY(doc.toHtml().contains("font-weight:700"));
        QVERIFY(doc.toHtml().contains("font-style:italic"));
        QVERIFY(doc.toHtml().contains("<li"));
        const QList<CodeBlock*> code = v.codeBlocks();
        QCOMPARE(code.size(), 1);
        QCOMPARE(code[0]->code(), QStringLiteral("ls -la"));
        QVERIFY(code[0]->body()->font().fixedPitch() || QFontInfo(code[0]->body()->font()).fixedPitch());
        QApplication::clipboard()->clear();
        code[0]->copyButton()->click();
        QCOMPARE(QApplication::clipboard()->text(), QStringLiteral("ls -la"));
    }

    void streamingKeepsBlocksAndGrowsCode() {
        MarkdownView v;
        v.setMarkdown(QStringLiteral("Intro"));
        QWidget* first = v.block(0);
        v.setMarkdown(QStringLiteral("Intro text\n```py\nx = 1"));
        QCOMPARE(v.blockCount(), 2);
        QCOMPARE(v.block(0), first);  // reused, not rebuilt on every flush
        CodeBlock* c = v.codeBlocks().value(0);
        QVERIFY(c);
        v.setMarkdown(QStringLiteral("Intro text\n```py\nx = 1\ny = 2\n```\nDone."));
        QCOMPARE(v.codeBlocks().value(0), c);
        QCOMPARE(c->code(), QStringLiteral("x = 1\ny = 2"));
        QCOMPARE(v.blockCount(), 3);
    }

    void chatAnswersUseMarkdownAndCopyKeepsTheSource() {
        FakeBackendOptions o;
        o.script = {"**Sure.**", "\n\n```c\n", "int x;\n", "```"};
        o.msPerTokenAt8 = 2;
        auto w = studiotest::window(dir_.path(), o);
        QVERIFY(w->chat()->send(QStringLiteral("*literal* question")));
        QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 5000));
        ChatView* view = w->chatPanel()->view();
        QVERIFY(!view->bubble(0)->markdown());  // what the user typed shows as typed
        MarkdownView* md = view->bubble(1)->markdown();
        QVERIFY(md);
        QCOMPARE(md->codeBlocks().size(), 1);
        QCOMPARE(md->codeBlocks()[0]->code(), QStringLiteral("int x;"));
        QCOMPARE(view->bubbleText(1), o.script.join(QString()));
        emit view->copyRequested(1);
        QCOMPARE(QApplication::clipboard()->text(), o.script.join(QString()));
    }
};

QTEST_MAIN(TestStudioMarkdown)
#include "test_studio_markdown.moc"
