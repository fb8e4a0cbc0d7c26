// Item model over the messages of the open conversation. Touched on the GUI
// thread only; streaming text arrives here in batches from ChatController.
#pragma once
#include "conversation.h"

#include <QAbstractListModel>

namespace studio {

class ConversationModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role { RoleRole = Qt::UserRole + 1, TextRole, WidthsRole, TokensRole, SpeedRole, TtftRole, StreamingRole, ReasonRole };

    explicit ConversationModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    const Conversation& conversation() const { return conv_; }
    Conversation& conversationForEdit() { return conv_; }  // metadata only (title, system prompt)
    void setConversation(const Conversation& c);
    const Message& message(int row) const { return conv_.messages[row]; }

    int appendMessage(const Message& m);
    void appendText(int row, const QString& piece);
    void noteWidth(int row, int bits);  // records a width used for this message
    void finishMessage(int row, const GenerationSummary& s, double tokensPerSecond);
    void setMessageText(int row, const QString& text);
    void truncate(int rows);  // keeps the first `rows` messages
    void clear();
    void setContextStart(int row);  // see Conversation::contextStart
    bool showVersion(int row, int version);  // an assistant message's earlier / later answer

signals:
    void contextStartChanged(int row);

private:
    void touch();
    Conversation conv_;
};

}  // namespace studio
