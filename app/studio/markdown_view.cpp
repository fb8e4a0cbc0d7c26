#include "markdown_view.h"

#include <QApplication>
#include <QClipboard>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QRegularExpression>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace studio {

QList<MarkdownSegment> splitMarkdown(const QString& text) {
    static const QRegularExpression open(QStringLiteral("^ {0,3}(`{3,}|~{3,})\\s*([^\\s`]*)[^`]*$"));
    QList<MarkdownSegment> out;
    MarkdownSegment cur;
    QStringList lines;
    QChar fenceChar;
    qsizetype fenceLen = 0;
    auto flush = [&] {
        cur.text = lines.join(QLatin1Char('\n'));
        if (cur.code || !cur.text.trimmed().isEmpty()) out.append(cur);
        cur = {};
        lines.clear();
    };
    for (const QString& line : text.split(QLatin1Char('\n'))) {
        if (!cur.code) {
            const auto m = open.match(line);
            if (!m.hasMatch()) {
                lines << line;
                continue;
            }
            flush();
            cur.code = true;
            cur.language = m.captured(2);
            fenceChar = m.captured(1).at(0);
            fenceLen = m.captured(1).size();
            continue;
        }
        // A closing fence: the same character, at least as long, nothing else on the line.
        const QString t = line.trimmed();
        if (t.size() >= fenceLen && t.count(fenceChar) == t.size() && line.indexOf(fenceChar) <= 3) {
            flush();
            continue;
        }
        lines << line;
    }
    flush();
    return out;
}

CodeBlock::CodeBlock(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("CodeBlock"));
    setAttribute(Qt::WA_StyledBackground, true);
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(10, 4, 6, 8);
    v->setSpacing(2);
    auto* head = new QHBoxLayout;
    language_ = new QLabel(this);
    language_->setObjectName(QStringLiteral("CodeLanguage"));
    copy_ = new QToolButton(this);
    copy_->setObjectName(QStringLiteral("MessageAction"));
    copy_->setText(tr("Copy code"));
    copy_->setCursor(Qt::PointingHandCursor);
    copy_->setToolTip(tr("Copy this code block to the clipboard"));
    head->addWidget(language_);
    head->addStretch(1);
    head->addWidget(copy_);
    v->addLayout(head);
    body_ = new QLabel(this);
    body_->setObjectName(QStringLiteral("CodeText"));
    body_->setTextFormat(Qt::PlainText);
    // Long lines wrap rather than widen the bubble; copying gives the original lines.
    body_->setWordWrap(true);
    body_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    body_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    body_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Minimum);
    v->addWidget(body_);
    connect(copy_, &QToolButton::clicked, this, [this] {
        QApplication::clipboard()->setText(code_);
        copy_->setText(tr("Copied"));
        QTimer::singleShot(1500, copy_, [b = copy_] { b->setText(tr("Copy code")); });
    });
}

void CodeBlock::set(const QString& language, const QString& code) {
    code_ = code;
    language_->setText(language.isEmpty() ? tr("code") : language);
    if (body_->text() != code) body_->setText(code);
}

MarkdownView::MarkdownView(QWidget* parent) : QWidget(parent) {
    column_ = new QVBoxLayout(this);
    column_->setContentsMargins(0, 0, 0, 0);
    column_->setSpacing(6);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
}

QList<CodeBlock*> MarkdownView::codeBlocks() const {
    QList<CodeBlock*> out;
    for (QWidget* w : blocks_)
        if (auto* c = qobject_cast<CodeBlock*>(w)) out << c;
    return out;
}

QWidget* MarkdownView::makeBlock(const MarkdownSegment& s) {
    if (s.code) return new CodeBlock(this);
    auto* l = new QLabel(this);
    l->setObjectName(QStringLiteral("MarkdownText"));
    l->setTextFormat(Qt::MarkdownText);
    l->setWordWrap(true);
    l->setOpenExternalLinks(true);
    l->setTextInteractionFlags(Qt::TextBrowserInteraction | Qt::TextSelectableByKeyboard);
    // Ignored: the text wraps to whatever width the bubble gets instead of
    // holding the bubble (and the window) at the width of its longest line.
    l->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Minimum);
    return l;
}

void MarkdownView::fill(QWidget* w, const MarkdownSegment& s) {
    if (auto* c = qobject_cast<CodeBlock*>(w)) c->set(s.language, s.text);
    else if (auto* l = qobject_cast<QLabel*>(w); l && l->text() != s.text) l->setText(s.text);
}

void MarkdownView::setMarkdown(const QString& text) {
    if (text == text_ && !blocks_.isEmpty()) return;
    text_ = text;
    const QList<MarkdownSegment> segs = splitMarkdown(text);
    // Streaming changes the last block only: keep every block whose kind is unchanged.
    for (int i = 0; i < segs.size(); ++i) {
        if (i < blocks_.size() && segments_[i].code == segs[i].code) {
            if (!(segments_[i] == segs[i])) fill(blocks_[i], segs[i]);
            continue;
        }
        while (blocks_.size() > i) delete blocks_.takeLast();
        QWidget* w = makeBlock(segs[i]);
        fill(w, segs[i]);
        column_->addWidget(w);
        blocks_.append(w);
    }
    while (blocks_.size() > segs.size()) delete blocks_.takeLast();
    segments_ = segs;
    updateGeometry();
}

}  // namespace studio
