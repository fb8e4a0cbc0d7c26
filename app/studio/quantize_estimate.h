// Size of the checkpoint a quantization would write, estimated before any
// work: from the loaded model's exact counts, or from the source file size.
#pragma once
#include "studio_types.h"

namespace studio {

struct SizeEstimate {
    quint64 bytes = 0;
    bool exact = false;  // from the model's own parameter count (false: from the file size)
};

// `known` is used when it describes `s.source` (same path); may be invalid.
SizeEstimate estimateQuantizedSize(const QuantizeSettings& s, const ModelInfo& known);

}  // namespace studio
