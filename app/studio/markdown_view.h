// An assistant answer rendered as Markdown: prose through Qt's own Markdown
// support (headings, lists, bold/italic, inline code, links, tables) and
// every fenced code block as its own monospace block with a Copy button.
// No web engine. It re-renders as text streams in, reusing the blocks that
// did not change, and an unclosed fence (mid-stream) already shows as code.
#pragma once
#include <QList>
#include <QString>
#include <QWidget>

class QLabel;
class QToolButton;
class QVBoxLayout;

namespace studio {

// One run of the text: prose, or a fenced code block.
struct MarkdownSegment {
    bool code = false;
    QString language;  // the fence's info string ("python"), code only
    QString text;      // prose as Markdown; code without the fences
    bool operator==(const MarkdownSegment&) const = default;
};

// Splits at ``` / ~~~ fences (up to 3 spaces of indent, CommonMark's rule);
// a fence still open at the end runs to the end of the text.
QList<MarkdownSegment> splitMarkdown(const QString& text);

// One fenced block: language, Copy, and the code in the monospace font.
class CodeBlock : public QWidget {
    Q_OBJECT
public:
    explicit CodeBlock(QWidget* parent = nullptr);
    void set(const QString& language, const QString& code);
    QString code() const { return code_; }
    QToolButton* copyButton() const { return copy_; }
    QLabel* body() const { return body_; }

private:
    QString code_;
    QLabel* language_ = nullptr;
    QLabel* body_ = nullptr;
    QToolButton* copy_ = nullptr;
};

class MarkdownView : public QWidget {
    Q_OBJECT
public:
    explicit MarkdownView(QWidget* parent = nullptr);
    void setMarkdown(const QString& text);
    QString markdown() const { return text_; }
    int blockCount() const { return int(blocks_.size()); }
    QWidget* block(int i) const { return blocks_.value(i); }
    QList<CodeBlock*> codeBlocks() const;

private:
    QWidget* makeBlock(const MarkdownSegment& s);
    void fill(QWidget* w, const MarkdownSegment& s);

    QString text_;
    QVBoxLayout* column_ = nullptr;
    QList<MarkdownSegment> segments_;
    QList<QWidget*> blocks_;
};

}  // namespace studio
