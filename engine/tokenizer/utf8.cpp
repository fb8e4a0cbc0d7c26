// UTF-8 helpers and the streaming decoder declared in tokenizer.h.
#include "utf8.h"

#include "tokenizer.h"

namespace ap {

namespace {

constexpr uint32_t kReplacement = 0xFFFD;

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

Utf8Read utf8_read(std::string_view s) {
    Utf8Read r;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    const unsigned char c0 = p[0];
    if (c0 < 0x80) return {Utf8Read::Ok, c0, 1};

    size_t need;
    uint32_t cp;
    // The allowed range of the second byte excludes overlongs, surrogates and > U+10FFFF.
    unsigned char lo = 0x80, hi = 0xBF;
    if (c0 >= 0xC2 && c0 <= 0xDF) {
        need = 2, cp = c0 & 0x1F;
    } else if (c0 >= 0xE0 && c0 <= 0xEF) {
        need = 3, cp = c0 & 0x0F;
        if (c0 == 0xE0) lo = 0xA0;
        if (c0 == 0xED) hi = 0x9F;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
        need = 4, cp = c0 & 0x07;
        if (c0 == 0xF0) lo = 0x90;
        if (c0 == 0xF4) hi = 0x8F;
    } else {
        return r;  // stray continuation byte or a byte that never starts a sequence
    }
    size_t i = 1;
    for (; i < need && i < n; ++i) {
        const unsigned char c = p[i];
        const bool ok = i == 1 ? (c >= lo && c <= hi) : is_cont(c);
        if (!ok) {
            r.len = i;
            return r;
        }
        cp = (cp << 6) | (c & 0x3F);
    }
    if (i < need) return {Utf8Read::Incomplete, 0, n};
    return {Utf8Read::Ok, cp, need};
}

void utf8_append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string utf8_encode(uint32_t cp) {
    std::string s;
    utf8_append(s, cp);
    return s;
}

std::string utf8_sanitize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    while (!s.empty()) {
        const Utf8Read r = utf8_read(s);
        if (r.status == Utf8Read::Ok)
            out.append(s.data(), r.len);
        else
            utf8_append(out, kReplacement);
        s.remove_prefix(r.len);
    }
    return out;
}

bool utf8_is_valid(std::string_view s) {
    while (!s.empty()) {
        const Utf8Read r = utf8_read(s);
        if (r.status != Utf8Read::Ok) return false;
        s.remove_prefix(r.len);
    }
    return true;
}

std::string Utf8StreamDecoder::push(const std::string& bytes) {
    pending_ += bytes;
    std::string out;
    std::string_view s = pending_;
    while (!s.empty()) {
        const Utf8Read r = utf8_read(s);
        if (r.status == Utf8Read::Incomplete) break;  // wait for the bytes that finish it
        if (r.status == Utf8Read::Ok)
            out.append(s.data(), r.len);
        else
            utf8_append(out, kReplacement);
        s.remove_prefix(r.len);
    }
    pending_ = std::string(s);
    return out;
}

std::string Utf8StreamDecoder::flush() {
    std::string out = utf8_sanitize(pending_);
    pending_.clear();
    return out;
}

}  // namespace ap
