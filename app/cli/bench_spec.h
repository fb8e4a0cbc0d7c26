// The speculative part of `anyprec bench` (see cmd_bench_spec.cpp).
#pragma once
#include "cli_args.h"
#include "session.h"

#include <vector>

namespace apcli {

// Plain against speculative decoding for every (target in targets, --draft-bits, --draft-k); prints a table or JSON.
int bench_speculative(const Args& a, ap::Session& s, const std::vector<int>& targets, bool json);

}  // namespace apcli
