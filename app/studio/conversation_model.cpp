#include "conversation_model.h"

namespace studio {

ConversationModel::ConversationModel(QObject* parent) : QAbstractListModel(parent) {}

int ConversationModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(conv_.messages.size());
}

QVariant ConversationModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= conv_.messages.size()) return {};
    const Message& m = conv_.messages[index.row()];
    switch (role) {
    case Qt::DisplayRole:
    case TextRole: return m.text;
    case RoleRole: return m.role;
    case WidthsRole: return QVariant::fromValue(m.widths);
    case TokensRole: return m.nTokens;
    case SpeedRole: return m.tokensPerSecond;
    case TtftRole: return m.ttftS;
    case StreamingRole: return m.streaming;
    case ReasonRole: return int(m.reason);
    default: return {};
    }
}

QHash<int, QByteArray> ConversationModel::roleNames() const {
    return {{RoleRole, "role"},     {TextRole, "text"},   {WidthsRole, "widths"},       {TokensRole, "tokens"},
            {SpeedRole, "speed"},   {TtftRole, "ttft"},   {StreamingRole, "streaming"}, {ReasonRole, "reason"}};
}

void ConversationModel::setConversation(const Conversation& c) {
    beginResetModel();
    conv_ = c;
    endResetModel();
}

void ConversationModel::touch() { conv_.updated = QDateTime::currentDateTimeUtc(); }

int ConversationModel::appendMessage(const Message& m) {
    const int row = int(conv_.messages.size());
    beginInsertRows({}, row, row);
    conv_.messages.append(m);
    if (conv_.messages.last().created.isNull()) conv_.messages.last().created = QDateTime::currentDateTimeUtc();
    endInsertRows();
    if (conv_.title.isEmpty() && m.role == QLatin1String("user")) conv_.title = conv_.autoTitle();
    touch();
    return row;
}

void ConversationModel::appendText(int row, const QString& piece) {
    if (row < 0 || row >= conv_.messages.size() || piece.isEmpty()) return;
    conv_.messages[row].text += piece;
    emit dataChanged(index(row), index(row), {TextRole});
}

void ConversationModel::noteWidth(int row, int bits) {
    if (row < 0 || row >= conv_.messages.size()) return;
    auto& w = conv_.messages[row].widths;
    if (w.isEmpty() || w.last() != bits) {
        w.append(bits);
        emit dataChanged(index(row), index(row), {WidthsRole});
    }
}

void ConversationModel::finishMessage(int row, const GenerationSummary& s, double tokensPerSecond) {
    if (row < 0 || row >= conv_.messages.size()) return;
    Message& m = conv_.messages[row];
    m.streaming = false;
    m.nTokens = s.nGenerated;
    m.tokensPerSecond = tokensPerSecond;
    m.ttftS = s.ttftS;
    m.reason = s.reason;
    touch();
    emit dataChanged(index(row), index(row));
}

void ConversationModel::setMessageText(int row, const QString& text) {
    if (row < 0 || row >= conv_.messages.size()) return;
    conv_.messages[row].text = text;
    touch();
    emit dataChanged(index(row), index(row), {TextRole});
}

void ConversationModel::truncate(int rows) {
    if (rows >= conv_.messages.size()) return;
    beginRemoveRows({}, rows, int(conv_.messages.size()) - 1);
    conv_.messages.resize(rows);
    endRemoveRows();
    touch();
}

void ConversationModel::clear() { truncate(0); }

bool ConversationModel::showVersion(int row, int version) {
    if (row < 0 || row >= conv_.messages.size()) return false;
    Message& m = conv_.messages[row];
    if (m.version == version) return true;
    if (!m.showVersion(version)) return false;
    touch();
    emit dataChanged(index(row), index(row));
    return true;
}

void ConversationModel::setContextStart(int row) {
    row = qBound(0, row, int(conv_.messages.size()));
    if (row == conv_.contextStart) return;
    conv_.contextStart = row;
    emit contextStartChanged(row);
}

}  // namespace studio
