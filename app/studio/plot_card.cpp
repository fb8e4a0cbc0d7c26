#include "plot_card.h"

#include "theme.h"

#include <qcustomplot.h>

#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QMenu>
#include <QPushButton>
#include <QToolButton>
#include <QSaveFile>
#include <QVBoxLayout>

namespace studio {

PlotCard::PlotCard(const QString& title, QWidget* parent) : QWidget(parent), title_(title) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(8, 8, 8, 8);
    v->setSpacing(4);
    toolbar_ = new QHBoxLayout;
    auto* t = new QLabel(title, this);
    t->setObjectName(QStringLiteral("PrecisionTitle"));
    toolbar_->addWidget(t);
    toolbar_->addStretch(1);
    // One "Save" button with a menu: two buttons made the plots pane too wide
    // for a 1024 px window.
    auto* save = new QToolButton(this);
    save->setObjectName(QStringLiteral("PlotSave"));
    save->setText(tr("Save \u25be"));
    save->setToolTip(tr("Save the plot as an image (PNG, PDF) or its data as CSV"));
    save->setPopupMode(QToolButton::InstantPopup);
    auto* menu = new QMenu(save);
    menu->addAction(tr("Save image (PNG, PDF)\u2026"), this, &PlotCard::askSaveImage);
    menu->addAction(tr("Export data (CSV)\u2026"), this, &PlotCard::askSaveCsv);
    save->setMenu(menu);
    toolbar_->addWidget(save);
    v->addLayout(toolbar_);
    plot_ = new QCustomPlot(this);
    plot_->setMinimumHeight(180);
    styleAxes(plot_);
    v->addWidget(plot_, 1);
    note_ = new QLabel(this);
    note_->setObjectName(QStringLiteral("MessageMeta"));
    note_->setWordWrap(true);
    note_->setVisible(false);
    v->addWidget(note_);
}

void PlotCard::styleAxes(QCustomPlot* p) {
    // QCustomPlot paints with its own colours, not the palette: take them from the theme.
    p->setBackground(theme::plotBackground());
    p->axisRect()->setBackground(theme::plotBackground());
    for (QCPAxis* a : {p->xAxis, p->yAxis}) {
        a->setBasePen(QPen(theme::plotAxis()));
        a->setTickPen(QPen(theme::plotAxis()));
        a->setSubTickPen(QPen(theme::plotGrid()));
        a->setTickLabelColor(theme::plotText());
        a->setLabelColor(theme::plotText());
        a->grid()->setPen(QPen(theme::plotGrid()));
    }
    QColor legendBg = theme::plotBackground();
    legendBg.setAlpha(220);
    p->legend->setBrush(legendBg);
    p->legend->setBorderPen(QPen(theme::plotGrid()));
    p->legend->setTextColor(theme::plotText());
}

void PlotCard::changeEvent(QEvent* e) {
    QWidget::changeEvent(e);
    if (e->type() == QEvent::PaletteChange || e->type() == QEvent::StyleChange) {
        styleAxes(plot_);
        themeChanged();
        plot_->replot(QCustomPlot::rpQueuedReplot);
    }
}

void PlotCard::setNote(const QString& text) {
    note_->setText(text);
    note_->setVisible(!text.isEmpty());
}

QString PlotCard::note() const { return note_->text(); }

bool PlotCard::saveImage(const QString& path) const {
    if (path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) return plot_->savePdf(path);
    return plot_->savePng(path, 0, 0, 2.0);  // 2x: crisp on high-DPI screens and in documents
}

bool PlotCard::saveCsv(const QString& path) const {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) return false;
    f.write(csv().toUtf8());
    return f.commit();
}

void PlotCard::askSaveImage() {
    const QString path = QFileDialog::getSaveFileName(const_cast<PlotCard*>(this), tr("Save plot"), title_ + ".png",
                                                      tr("PNG image (*.png);;PDF document (*.pdf)"));
    if (!path.isEmpty() && !saveImage(path)) QMessageBox::warning(this, tr("Save plot"), tr("Could not write %1").arg(path));
}

void PlotCard::askSaveCsv() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export data"), title_ + ".csv", tr("CSV (*.csv)"));
    if (!path.isEmpty() && !saveCsv(path)) QMessageBox::warning(this, tr("Export data"), tr("Could not write %1").arg(path));
}

}  // namespace studio
