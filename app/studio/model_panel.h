// The Model tab: what is loaded, as the engine describes it: architecture,
// parameters, context, tokenizer, chat template, where an any-precision
// checkpoint came from (source and calibration, with hashes) and every
// width with its bits per weight and memory.
#pragma once
#include "studio_types.h"

#include <QWidget>

class QTextBrowser;

namespace studio {

class ModelPanel : public QWidget {
    Q_OBJECT
public:
    explicit ModelPanel(QWidget* parent = nullptr);
    void setModel(const ModelInfo& info);
    QString plainText() const;  // what the panel shows, as text (tests, copy)
    static QString html(const ModelInfo& info);

private:
    QTextBrowser* view_ = nullptr;
};

}  // namespace studio
