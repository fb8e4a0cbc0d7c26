// Pre-tokenizers as explicit scanners. Each match_* function returns where
// the regex match starting at code point i ends, reproducing the leftmost,
// first-alternative-wins semantics of the patterns (including backtracking
// into whitespace runs), so no regex engine is needed:
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   smollm: every \p{N} is a piece of its own; gpt2 on the text between
//           (HF: Sequence[Digits(individual_digits), ByteLevel(use_regex)],
//            llama.cpp: regex list {"\p{N}", gpt2})
//   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2:  llama3 with \p{N} instead of \p{N}{1,3}
#include "pretokenizer.h"

#include "unicode_tables.h"
#include "utf8.h"

#include <cstdint>

namespace ap {

namespace {

enum : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4, kNewline = 8 };

// The text as code points with their classes and byte offsets.
struct Decoded {
    std::vector<uint32_t> cp;
    std::vector<uint8_t> cls;
    std::vector<uint32_t> off;  // byte offset of each code point, plus one past the end
};

uint8_t classify(uint32_t cp) {
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return kLetter;
        if (cp >= '0' && cp <= '9') return kNumber;
        if (cp == '\n' || cp == '\r') return kSpace | kNewline;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return kSpace;
        return 0;
    }
    if (unicode_is_letter(cp)) return kLetter;
    if (unicode_is_number(cp)) return kNumber;
    if (unicode_is_space(cp)) return kSpace;
    return 0;
}

// Invalid bytes become this non-character so they classify as "other".
constexpr uint32_t kBadByte = 0xFFFFFFFFu;

Decoded decode(std::string_view text) {
    Decoded d;
    d.cp.reserve(text.size());
    d.cls.reserve(text.size());
    d.off.reserve(text.size() + 1);
    size_t pos = 0;
    while (pos < text.size()) {
        const Utf8Read r = utf8_read(text.substr(pos));
        d.off.push_back(static_cast<uint32_t>(pos));
        if (r.status == Utf8Read::Ok) {
            d.cp.push_back(r.cp);
            d.cls.push_back(classify(r.cp));
            pos += r.len;
        } else {
            d.cp.push_back(kBadByte);
            d.cls.push_back(0);
            pos += 1;
        }
    }
    d.off.push_back(static_cast<uint32_t>(pos));
    return d;
}

// Scanner over code points [begin, end) of a Decoded text; the end acts as
// the end of the input for every lookahead.
struct Scanner {
    const Decoded& d;
    size_t end;

    bool is(size_t i, uint8_t c) const { return i < end && (d.cls[i] & c); }
    bool is_other(size_t i) const { return i < end && (d.cls[i] & (kLetter | kNumber | kSpace)) == 0; }
    uint32_t lower(size_t i) const {
        const uint32_t c = d.cp[i];
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    }
    size_t run(size_t i, uint8_t c) const {
        while (is(i, c)) ++i;
        return i;
    }
    size_t run_other(size_t i) const {
        while (is_other(i)) ++i;
        return i;
    }

    // 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive. 0 if no match.
    size_t contraction(size_t i, bool any_case) const {
        if (d.cp[i] != '\'' || i + 1 >= end) return 0;
        auto at = [&](size_t k) { return k < end ? (any_case ? lower(k) : d.cp[k]) : 0u; };
        const uint32_t a = at(i + 1), b = at(i + 2);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
        return 0;
    }

    // \s+(?!\S)|\s+ at a whitespace character: a run followed by a
    // non-space gives its last character to what follows, unless the run is
    // a single character.
    size_t trailing_space(size_t i) const {
        const size_t j = run(i, kSpace);
        if (j == end || j - 1 == i) return j;
        return j - 1;
    }

    size_t match_gpt2(size_t i) const {
        if (size_t e = contraction(i, false)) return e;
        const size_t s = (d.cp[i] == ' ' && i + 1 < end) ? i + 1 : i;  // " ?"
        if (is(s, kLetter)) return run(s, kLetter);
        if (is(s, kNumber)) return run(s, kNumber);
        if (is_other(s)) return run_other(s);
        if (is(i, kSpace)) return trailing_space(i);
        return i + 1;
    }

    size_t match_llama3(size_t i, size_t max_digits) const {
        if (size_t e = contraction(i, true)) return e;
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (is(i, kLetter)) return run(i, kLetter);
        if (!is(i, kNewline | kLetter | kNumber) && is(i + 1, kLetter)) return run(i + 1, kLetter);
        // \p{N}{1,max}
        if (is(i, kNumber)) {
            size_t j = i;
            while (j - i < max_digits && is(j, kNumber)) ++j;
            return j;
        }
        // " ?[^\s\p{L}\p{N}]+[\r\n]*"
        const size_t s = (d.cp[i] == ' ' && i + 1 < end) ? i + 1 : i;
        if (is_other(s)) return run(run_other(s), kNewline);
        // \s*[\r\n]+ : up to and including the last newline of the whitespace run
        const size_t j = run(i, kSpace);
        for (size_t k = j; k > i; --k)
            if (d.cls[k - 1] & kNewline) return k;
        return trailing_space(i);
    }
};

void split_range(PreTokenizerKind kind, const Decoded& d, size_t begin, size_t end, std::string_view text,
                 std::vector<std::string_view>& out) {
    const Scanner sc{d, end};
    size_t i = begin;
    while (i < end) {
        size_t j;
        switch (kind) {
        case PreTokenizerKind::Llama3: j = sc.match_llama3(i, 3); break;
        case PreTokenizerKind::Qwen2: j = sc.match_llama3(i, 1); break;
        default: j = sc.match_gpt2(i); break;
        }
        out.emplace_back(text.substr(d.off[i], d.off[j] - d.off[i]));
        i = j;
    }
}

}  // namespace

bool pretokenizer_from_name(std::string_view name, PreTokenizerKind& out) {
    if (name == "gpt2") out = PreTokenizerKind::Gpt2;
    else if (name == "smollm") out = PreTokenizerKind::SmolLM;
    else if (name == "llama3") out = PreTokenizerKind::Llama3;
    else if (name == "qwen2") out = PreTokenizerKind::Qwen2;
    else return false;
    return true;
}

const char* pretokenizer_name(PreTokenizerKind k) {
    switch (k) {
    case PreTokenizerKind::Gpt2: return "gpt2";
    case PreTokenizerKind::SmolLM: return "smollm";
    case PreTokenizerKind::Llama3: return "llama3";
    case PreTokenizerKind::Qwen2: return "qwen2";
    }
    return "gpt2";
}

void pretokenize(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>& out) {
    if (text.empty()) return;
    const Decoded d = decode(text);
    const size_t n = d.cp.size();
    if (kind != PreTokenizerKind::SmolLM) {
        split_range(kind, d, 0, n, text, out);
        return;
    }
    // Digits first: each \p{N} is isolated, the stretches between them are
    // split by the gpt2 rules as if each were a whole text.
    size_t seg = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!(d.cls[i] & kNumber)) continue;
        split_range(PreTokenizerKind::Gpt2, d, seg, i, text, out);
        out.emplace_back(text.substr(d.off[i], d.off[i + 1] - d.off[i]));
        seg = i + 1;
    }
    split_range(PreTokenizerKind::Gpt2, d, seg, n, text, out);
}

}  // namespace ap
