// One column of the side-by-side comparison: a width's answer streaming in,
// with its own tokens/s, token count and time.
#pragma once
#include "studio_types.h"

#include <QFrame>

class QLabel;
class QPlainTextEdit;

namespace studio {

class CompareColumn : public QFrame {
    Q_OBJECT
public:
    CompareColumn(int bits, QWidget* parent = nullptr);

    int bits() const { return bits_; }
    void appendText(const QString& text);
    QString text() const;
    void setLiveStats(const TokenStats& s);
    void setFinished(const GenerationSummary& s);
    int tokenCount() const { return tokens_; }

private:
    int bits_;
    int tokens_ = 0;
    QPlainTextEdit* body_ = nullptr;
    QLabel* stats_ = nullptr;
};

}  // namespace studio
