// The GPT-2 mapping keeps the 188 printable Latin-1 bytes as themselves and
// moves the rest (controls, space, DEL, NBSP, soft hyphen) to U+0100 onwards,
// in byte order, so that no vocabulary entry contains whitespace or controls.
#include "byte_level.h"

#include "utf8.h"

#include <array>

namespace ap {

namespace {

constexpr bool kept_as_is(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

struct ByteTables {
    std::array<uint16_t, 256> to_cp{};
    std::array<int16_t, 0x144> to_byte{};  // every mapped code point is below U+0144
};

constexpr ByteTables make_tables() {
    ByteTables t;
    for (auto& v : t.to_byte) v = -1;
    unsigned next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
        const unsigned cp = kept_as_is(b) ? b : next++;
        t.to_cp[b] = static_cast<uint16_t>(cp);
        t.to_byte[cp] = static_cast<int16_t>(b);
    }
    return t;
}

constexpr ByteTables kTables = make_tables();
static_assert(kTables.to_cp[' '] == 0x120, "space must map to U+0120");

}  // namespace

uint32_t byte_to_unicode(uint8_t b) { return kTables.to_cp[b]; }

int unicode_to_byte(uint32_t cp) { return cp < kTables.to_byte.size() ? kTables.to_byte[cp] : -1; }

std::string bytes_to_byte_level(std::string_view raw) {
    std::string out;
    out.reserve(raw.size() * 2);
    for (unsigned char b : raw) utf8_append(out, kTables.to_cp[b]);
    return out;
}

bool byte_level_to_bytes(std::string_view text, std::string& out) {
    bool all_mapped = true;
    while (!text.empty()) {
        const Utf8Read r = utf8_read(text);
        const int b = r.status == Utf8Read::Ok ? unicode_to_byte(r.cp) : -1;
        if (b >= 0) {
            out += static_cast<char>(b);
        } else {
            out.append(text.data(), r.len);
            all_mapped = false;
        }
        text.remove_prefix(r.len);
    }
    return all_mapped;
}

}  // namespace ap
