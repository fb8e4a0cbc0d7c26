#include "about_dialog.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QTextDocument>
#include <QVBoxLayout>

namespace studio {

QString AboutDialog::version() { return QStringLiteral(STUDIO_VERSION); }

AboutDialog::AboutDialog(QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("aboutDialog"));
    setWindowTitle(tr("About AnyPrec Studio"));
    html_ = tr("<h2>AnyPrec Studio %1</h2>"
               "<p>A desktop playground for any-precision LLMs: one parent model quantized once; every width "
               "from the seed to the parent served from that one copy, switchable while an answer is written.</p>"
               "<p><b>Based on</b><br>Yeonhong Park, Jake Hyun, SangLyul Cho, Bonggeun Sim and Jae W. Lee. "
               "<i>Any-Precision LLM: Low-Cost Deployment of Multiple, Different-Sized LLMs.</i> "
               "Proceedings of the 41st International Conference on Machine Learning (ICML 2024), PMLR 235. "
               "<a href=\"https://arxiv.org/abs/2402.10517\">arXiv:2402.10517</a></p>"
               "<p><b>Licence</b><br>GPL-3.0-or-later. This program is free software: you can redistribute it "
               "and/or modify it under the terms of the GNU General Public License as published by the Free "
               "Software Foundation, either version 3 of the License, or (at your option) any later version. "
               "It comes with ABSOLUTELY NO WARRANTY. "
               "<a href=\"https://www.gnu.org/licenses/gpl-3.0.html\">Read the licence</a>.</p>"
               "<p>Built with Qt %2 and QCustomPlot.</p>")
                .arg(version().toHtmlEscaped(), QString::fromLatin1(qVersion()));
    auto* v = new QVBoxLayout(this);
    auto* label = new QLabel(html_, this);
    label->setTextFormat(Qt::RichText);
    label->setWordWrap(true);
    label->setOpenExternalLinks(true);
    label->setTextInteractionFlags(Qt::TextBrowserInteraction);
    v->addWidget(label);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    v->addWidget(buttons);
    setMinimumWidth(520);
}

QString AboutDialog::text() const {
    QTextDocument d;
    d.setHtml(html_);
    return d.toPlainText();
}

}  // namespace studio
