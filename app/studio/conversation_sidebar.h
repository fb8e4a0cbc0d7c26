// Left sidebar: "New chat" and the saved conversations, newest first.
#pragma once
#include "conversation_store.h"

#include <QAbstractListModel>
#include <QWidget>

class QLabel;
class QLineEdit;
class QListView;

namespace studio {

// List model over the store's summaries (refreshed after every save).
class ConversationListModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role { IdRole = Qt::UserRole + 1 };
    explicit ConversationListModel(ConversationStore* store, QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    void refresh();
    void setFilter(const QString& query);
    const QString& filter() const { return filter_; }
    int rowOf(const QString& id) const;

private:
    ConversationStore* store_;
    QList<ConversationSummary> items_;
    QString filter_;
};

class ConversationSidebar : public QWidget {
    Q_OBJECT
public:
    ConversationSidebar(ConversationStore* store, QWidget* parent = nullptr);
    ConversationListModel* model() const { return model_; }
    QListView* list() const { return list_; }
    QLineEdit* searchBox() const { return search_; }
    void refresh(const QString& currentId);
    // The menu for the conversation at `pos` (viewport coordinates); that
    // conversation is highlighted while the menu is open.
    void showContextMenu(const QPoint& pos);

signals:
    void newRequested();
    void openRequested(const QString& id);
    void deleteRequested(const QString& id);
    void renameRequested(const QString& id, const QString& title);
    void exportRequested(const QString& id);

private:
    ConversationListModel* model_;
    QListView* list_;
    QLineEdit* search_ = nullptr;
    QLabel* empty_ = nullptr;
    QString current_;
};

}  // namespace studio
