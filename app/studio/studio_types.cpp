#include "studio_types.h"

namespace studio {

void registerStudioTypes() {
    qRegisterMetaType<ModelInfo>();
    qRegisterMetaType<RuntimeSettings>();
    qRegisterMetaType<QList<ChatTurn>>();
    qRegisterMetaType<GenerationRequest>();
    qRegisterMetaType<TokenStats>();
    qRegisterMetaType<GenerationSummary>();
    qRegisterMetaType<CompareRequest>();
    qRegisterMetaType<PerplexityRequest>();
    qRegisterMetaType<QuantizeSettings>();
    qRegisterMetaType<QuantizeJob>();
    qRegisterMetaType<QuantizeProgressInfo>();
    qRegisterMetaType<QuantizeOutcome>();
}

}  // namespace studio
