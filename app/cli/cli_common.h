// Pieces every anyprec command shares: model loading with a progress line,
// sampling/session options from flags, human-readable sizes.
#pragma once
#include "cli_args.h"
#include "model.h"
#include "session.h"

#include <memory>
#include <string>

namespace apcli {

std::unique_ptr<ap::Model> load_model_verbose(const std::string& path);
ap::SamplingParams sampling_from(const Args& a);
ap::SessionOptions session_from(const Args& a);
// --bits validated against what the model serves (0 = parent / full precision).
int bits_from(const Args& a, const ap::Model& m);
// Throws ap::Error unless the model serves width b (0 always passes).
void check_width(const ap::Model& m, int b);
std::string human_bytes(uint64_t b);
std::string read_text_file(const std::string& path);  // throws ap::Error naming the file

}  // namespace apcli
