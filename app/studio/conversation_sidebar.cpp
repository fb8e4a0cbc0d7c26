#include "conversation_sidebar.h"

#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QPushButton>
#include <QVBoxLayout>

namespace studio {

ConversationListModel::ConversationListModel(ConversationStore* store, QObject* parent)
    : QAbstractListModel(parent), store_(store) {
    refresh();
}

int ConversationListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(items_.size()); }

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= items_.size()) return {};
    const auto& s = items_[index.row()];
    if (role == Qt::DisplayRole) return s.title;
    if (role == Qt::ToolTipRole)
        return tr("%1\n%2 messages \u00b7 %3").arg(s.title).arg(s.nMessages).arg(QLocale().toString(s.updated.toLocalTime(), QLocale::ShortFormat));
    if (role == IdRole) return s.id;
    return {};
}

void ConversationListModel::refresh() {
    beginResetModel();
    items_ = store_->list(filter_);
    endResetModel();
}

void ConversationListModel::setFilter(const QString& query) {
    filter_ = query;
    refresh();
}

int ConversationListModel::rowOf(const QString& id) const {
    for (int i = 0; i < items_.size(); ++i)
        if (items_[i].id == id) return i;
    return -1;
}

ConversationSidebar::ConversationSidebar(ConversationStore* store, QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("Sidebar"));
    setAttribute(Qt::WA_StyledBackground, true);
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(8, 10, 8, 8);
    auto* add = new QPushButton(tr("+  New chat"), this);
    add->setObjectName(QStringLiteral("Primary"));
    v->addWidget(add);
    auto* title = new QLabel(tr("Conversations"), this);
    title->setObjectName(QStringLiteral("SidebarTitle"));
    v->addSpacing(6);
    v->addWidget(title);
    search_ = new QLineEdit(this);
    search_->setObjectName(QStringLiteral("ConversationSearch"));
    search_->setPlaceholderText(tr("Search conversations"));
    search_->setClearButtonEnabled(true);
    search_->setToolTip(tr("Titles and every message, earlier answers included (Ctrl+F)"));
    v->addWidget(search_);
    model_ = new ConversationListModel(store, this);
    list_ = new QListView(this);
    list_->setModel(model_);
    list_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    list_->setContextMenuPolicy(Qt::CustomContextMenu);
    list_->setTextElideMode(Qt::ElideRight);
    list_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    list_->setUniformItemSizes(true);
    v->addWidget(list_, 1);
    empty_ = new QLabel(this);
    empty_->setObjectName(QStringLiteral("MessageMeta"));
    empty_->setWordWrap(true);
    empty_->setVisible(false);
    v->addWidget(empty_);
    connect(search_, &QLineEdit::textChanged, this, [this](const QString& q) {
        model_->setFilter(q);
        refresh(current_);
    });
    connect(add, &QPushButton::clicked, this, &ConversationSidebar::newRequested);
    connect(list_, &QListView::clicked, this, [this](const QModelIndex& i) {
        emit openRequested(i.data(ConversationListModel::IdRole).toString());
    });
    connect(list_, &QListView::customContextMenuRequested, this, &ConversationSidebar::showContextMenu);
}

void ConversationSidebar::showContextMenu(const QPoint& pos) {
    const QModelIndex i = list_->indexAt(pos);
    if (!i.isValid()) return;
    const QString id = i.data(ConversationListModel::IdRole).toString();
    const QString title = i.data(Qt::DisplayRole).toString();
    // Highlight the conversation the menu acts on (the open one stayed
    // highlighted before, so "Delete" seemed to target it).
    list_->setCurrentIndex(i);
    QMenu menu(this);
    menu.setObjectName(QStringLiteral("conversationMenu"));
    QAction* rename = menu.addAction(tr("&Rename\u2026"));
    QAction* exp = menu.addAction(tr("&Export\u2026"));
    QAction* del = menu.addAction(tr("&Delete conversation"));
    QAction* chosen = menu.exec(list_->viewport()->mapToGlobal(pos));
    // Back to the open conversation, whatever was chosen.
    const int open = model_->rowOf(current_);
    if (open >= 0) list_->setCurrentIndex(model_->index(open));
    else list_->clearSelection();
    if (chosen == del) {
        emit deleteRequested(id);
    } else if (chosen == exp) {
        emit exportRequested(id);
    } else if (chosen == rename) {
        QInputDialog dlg(this);
        dlg.setObjectName(QStringLiteral("renameConversation"));
        dlg.setWindowTitle(tr("Rename conversation"));
        dlg.setLabelText(tr("Title:"));
        dlg.setTextValue(title);
        if (dlg.exec() == QDialog::Accepted && !dlg.textValue().trimmed().isEmpty())
            emit renameRequested(id, dlg.textValue().trimmed());
    }
}

void ConversationSidebar::refresh(const QString& currentId) {
    current_ = currentId;
    model_->refresh();
    empty_->setVisible(!model_->filter().trimmed().isEmpty() && model_->rowCount() == 0);
    empty_->setText(tr("No conversation contains \u201c%1\u201d.").arg(model_->filter().trimmed()));
    const int row = model_->rowOf(currentId);
    if (row >= 0) list_->setCurrentIndex(model_->index(row));
    else list_->clearSelection();
}

}  // namespace studio
