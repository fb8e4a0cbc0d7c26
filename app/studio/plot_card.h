// Frame shared by every plot: a title, the QCustomPlot, and buttons to save
// the image (PNG/PDF) and export the data (CSV) that subclasses provide.
#pragma once
#include <QWidget>

class QCustomPlot;
class QHBoxLayout;
class QLabel;

namespace studio {

class PlotCard : public QWidget {
    Q_OBJECT
public:
    explicit PlotCard(const QString& title, QWidget* parent = nullptr);

    QCustomPlot* plot() const { return plot_; }
    virtual QString csv() const = 0;
    // Writes the image (format from the suffix: .png or .pdf) or the CSV; false on failure.
    bool saveImage(const QString& path) const;
    bool saveCsv(const QString& path) const;
    void setNote(const QString& text);
    QString note() const;

protected:
    QHBoxLayout* toolbar() const { return toolbar_; }
    void changeEvent(QEvent* e) override;  // light/dark switch: re-colour the plot
    virtual void themeChanged() {}         // for colours a subclass sets itself
    static void styleAxes(QCustomPlot* p);

private:
    void askSaveImage();
    void askSaveCsv();

    QCustomPlot* plot_ = nullptr;
    QHBoxLayout* toolbar_ = nullptr;
    QLabel* note_ = nullptr;
    QString title_;
};

}  // namespace studio
