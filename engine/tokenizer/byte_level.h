// GPT-2 byte-to-unicode mapping: byte-level BPE vocabularies spell every
// byte as a printable code point (e.g. space is U+0120 'Ġ').
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ap {

uint32_t byte_to_unicode(uint8_t b);
// The byte a code point stands for, or -1 if it is not one of the 256.
int unicode_to_byte(uint32_t cp);

// Raw bytes -> their printable spelling (UTF-8).
std::string bytes_to_byte_level(std::string_view raw);
// Printable spelling -> raw bytes. Characters outside the mapping are copied
// through unchanged; returns false if there were any.
bool byte_level_to_bytes(std::string_view text, std::string& out);

}  // namespace ap
