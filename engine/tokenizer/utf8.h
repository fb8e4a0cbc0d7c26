// UTF-8 decoding and encoding helpers shared by the tokenizer pieces.
// Invalid input is never fatal: callers get a "bad byte" result and decide.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ap {

// Result of reading one UTF-8 sequence at the front of a byte range.
struct Utf8Read {
    enum Status { Ok, Invalid, Incomplete };
    Status status = Invalid;
    uint32_t cp = 0;  // the code point when Ok
    size_t len = 1;   // bytes consumed: the sequence (Ok), the maximal invalid
                      // subpart (Invalid, >= 1), or everything there was (Incomplete)
};

// Reads one sequence from s (non-empty). Rejects overlongs, surrogates and
// code points above U+10FFFF. Incomplete means s ends inside a sequence that
// could still become valid.
Utf8Read utf8_read(std::string_view s);

void utf8_append(std::string& out, uint32_t cp);
std::string utf8_encode(uint32_t cp);

// Replaces every invalid sequence (and a truncated one at the end) with U+FFFD.
std::string utf8_sanitize(std::string_view s);
bool utf8_is_valid(std::string_view s);

}  // namespace ap
