// Where the studio finds set-up data (the same cache as the engine's
// ap::anyprec_cache_dir: $ANYPREC_CACHE or ~/.cache/anyprec) and where it
// keeps its own files.
#pragma once
#include <QString>

namespace studio::paths {

QString cacheDir();
QString defaultGguf();            // <cache>/models/SmolLM2-135M-Instruct.Q4_1.gguf
QString defaultAnyPrecision();    // <cache>/models/SmolLM2-135M-Instruct.anyprec.safetensors
// The model to open on first launch: the any-precision checkpoint if set-up or
// the wizard made one, otherwise the GGUF (which may be missing).
QString defaultModel();
QString defaultEvalText();        // <cache>/text/mobydick.txt
QString defaultCalibText();       // <cache>/text/sherlock.txt
QString conversationsDir();       // <app data>/conversations
QString perplexityCacheFile();    // <app data>/perplexity-cache.json

}  // namespace studio::paths
