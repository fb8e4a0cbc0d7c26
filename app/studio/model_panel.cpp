#include "model_panel.h"

#include "format_util.h"

#include <QFileInfo>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace studio {

namespace {
QString esc(const QString& s) { return s.toHtmlEscaped(); }

// One "name: value" row; empty values are left out rather than shown as blanks.
QString row(const QString& name, const QString& value) {
    if (value.isEmpty()) return {};
    return QStringLiteral("<tr><td style='padding-right:14px'><b>%1</b></td><td>%2</td></tr>").arg(esc(name), value);
}

QString section(const QString& title, const QString& rows) {
    if (rows.isEmpty()) return {};
    return QStringLiteral("<h3>%1</h3><table cellspacing='0' cellpadding='2'>%2</table>").arg(esc(title), rows);
}

QString num(qint64 v) { return v > 0 ? fmt::count(v) : QString(); }
}  // namespace

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(8, 8, 8, 8);
    view_ = new QTextBrowser(this);
    view_->setObjectName(QStringLiteral("ModelDetails"));
    view_->setOpenExternalLinks(false);
    view_->setFrameShape(QFrame::NoFrame);
    v->addWidget(view_);
    setModel({});
}

QString ModelPanel::html(const ModelInfo& m) {
    if (!m.isValid()) return tr("<p>No model is loaded. Open one with File \u2192 Open model\u2026</p>");
    const ModelDetails& d = m.details;
    QString out = QStringLiteral("<h2>%1</h2>").arg(esc(m.name));
    out += section(tr("Model"),
                   row(tr("File"), esc(m.path)) + row(tr("Format"), esc(m.format)) + row(tr("Source"), esc(m.sourceNote)) +
                       row(tr("Parameters"), num(m.nParams)) + row(tr("Weights in memory"), fmt::bytes(m.weightBytes())) +
                       row(tr("Runs on"), esc(m.device)));
    QString arch = row(tr("Architecture"), esc(d.arch)) + row(tr("Layers"), num(d.nLayer)) +
                   row(tr("Hidden size"), num(d.nEmbd)) +
                   row(tr("Attention heads"), d.nHead ? tr("%1 (%2 key/value heads, head size %3)").arg(d.nHead).arg(d.nHeadKv).arg(d.headDim) : QString()) +
                   row(tr("Feed-forward size"), num(d.nFf)) + row(tr("Vocabulary"), num(d.nVocab)) +
                   row(tr("RoPE theta"), d.ropeTheta > 0 ? QString::number(d.ropeTheta, 'g', 8) : QString()) +
                   row(tr("Tied embeddings"), d.nLayer ? (d.tiedEmbeddings ? tr("yes") : tr("no")) : QString()) +
                   row(tr("Sliding window"), d.slidingWindow > 0 ? tr("%1 tokens").arg(d.slidingWindow) : QString());
    out += section(tr("Architecture"), arch);
    out += section(tr("Context"),
                   row(tr("Context length"), m.nCtx ? tr("%1 tokens (KV cache %2)").arg(m.nCtx).arg(fmt::bytes(m.kvBytes)) : QString()) +
                       row(tr("Trained for"), m.nCtxTrain ? tr("%1 tokens").arg(m.nCtxTrain) : QString()));
    out += section(tr("Tokenizer"), row(tr("Kind"), esc(d.tokenizer)) + row(tr("Begins with"), esc(d.bosText)) +
                                         row(tr("Ends with"), esc(d.eosText)));
    QString chat = row(tr("Chat format"), esc(d.chatFormat));
    if (!m.chatWarning.isEmpty()) chat += row(tr("Note"), esc(m.chatWarning));
    out += section(tr("Chat template"), chat);
    out += d.chatTemplate.isEmpty() ? tr("<p><i>The file has no chat template; the format above is used.</i></p>")
                                    : QStringLiteral("<pre style='white-space: pre-wrap'>%1</pre>").arg(esc(d.chatTemplate));
    if (m.anyPrecision) {
        QString prov = row(tr("Method"), esc(d.method)) +
                       row(tr("Widths"), tr("%1 to %2 bits (seed %1, parent %2)").arg(m.seedBits).arg(m.parentBits)) +
                       row(tr("Clustered optimally at"), d.anchorBits ? tr("%1 bits").arg(d.anchorBits) : QString()) +
                       row(tr("Sensitivity"), esc(d.sensitivity)) + row(tr("Source model"), esc(d.sourceFile)) +
                       row(tr("Source SHA-256"), esc(d.sourceSha256)) +
                       row(tr("Calibration text"), esc(d.calibFile)) +
                       row(tr("Calibration tokens"), num(d.calibTokens)) +
                       row(tr("Calibration SHA-256"), esc(d.calibSha256)) + row(tr("Made by"), esc(d.toolVersion));
        out += section(tr("Provenance"), prov);
    }
    QString widths = QStringLiteral("<tr><th align='left'>%1</th><th align='right'>%2</th><th align='right'>%3</th><th align='right'>%4</th></tr>")
                         .arg(tr("Width"), tr("Bits/weight"), tr("Read per token"), tr("As a separate model"));
    for (const WidthInfo& w : m.widths)
        widths += QStringLiteral("<tr><td>%1</td><td align='right'>%2</td><td align='right'>%3</td><td align='right'>%4</td></tr>")
                      .arg(esc(fmt::width(w.bits)))
                      .arg(w.bitsPerWeight, 0, 'f', 2)
                      .arg(fmt::bytes(w.bytesPerToken), fmt::bytes(w.separateBytes));
    out += QStringLiteral("<h3>%1</h3><table cellspacing='0' cellpadding='3'>%2</table>").arg(tr("Widths"), widths);
    return out;
}

void ModelPanel::setModel(const ModelInfo& info) { view_->setHtml(html(info)); }

QString ModelPanel::plainText() const { return view_->toPlainText(); }

}  // namespace studio
