// The real engine behind the studio's EngineBackend interface: loads models
// with ap::load_model, chats through an ap::Session, measures perplexity and
// runs the quantizer. Used only on the engine thread.
#pragma once
#include "engine_backend.h"

namespace studio {

std::unique_ptr<EngineBackend> makeRealBackend();
// ap::validate_quantize_options as a wizard validator: "" when valid.
QString validateWithEngine(const QuantizeSettings& s);

}  // namespace studio
