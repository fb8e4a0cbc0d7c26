// Tokenizer: special-token partitioning, then byte-level BPE (pre-tokenizer +
// rank merges) or SentencePiece-style BPE on the plain-text stretches; and
// decoding through per-token byte strings computed once up front.
#include "tokenizer.h"

#include "bpe_merges.h"
#include "byte_level.h"
#include "error.h"
#include "pretokenizer.h"
#include "spm_bpe.h"
#include "token_index.h"

#include <algorithm>
#include <array>
#include <unordered_map>

namespace ap {

namespace {

enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// "<0xAB>" -> 0xAB, or -1.
int parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    int v = 0;
    for (char c : t.substr(3, 2)) {
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else return -1;
    }
    return v;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    for (size_t hit; (hit = s.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
        out.append(s.substr(pos, hit - pos));
        out.append(to);
    }
    out.append(s.substr(pos));
    return out;
}

}  // namespace

struct Tokenizer::Impl {
    TokenIndex index;
    std::vector<std::string> bytes;  // decoded bytes of every token that decodes to text
    std::vector<bool> eog;

    // Byte-level BPE
    PreTokenizerKind pre = PreTokenizerKind::Gpt2;
    bool ignore_merges = false;  // Llama 3: a piece that is itself a token is emitted whole
    BpeMerges merges;
    std::array<int32_t, 256> byte_token{};

    // SentencePiece BPE
    SpmVocab spm;

    // Special tokens by first byte, longest first.
    struct Special {
        std::string_view text;
        int32_t id;
        bool control;
    };
    std::array<std::vector<Special>, 256> specials;

    // Special token at text[pos], or nullptr.
    const Special* special_at(std::string_view text, size_t pos, bool parse_special) const {
        for (const Special& s : specials[static_cast<unsigned char>(text[pos])])
            if ((parse_special || !s.control) && text.compare(pos, s.text.size(), s.text) == 0) return &s;
        return nullptr;
    }
};

Tokenizer::Tokenizer(TokenizerData d) : d_(std::move(d)), impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    const size_t n = d_.tokens.size();
    if (n == 0) throw Error("tokenizer: empty vocabulary");
    if (!d_.token_types.empty() && d_.token_types.size() != n)
        throw Error("tokenizer: " + std::to_string(d_.token_types.size()) + " token types for " +
                    std::to_string(n) + " tokens");
    if (!d_.scores.empty() && d_.scores.size() != n)
        throw Error("tokenizer: " + std::to_string(d_.scores.size()) + " scores for " + std::to_string(n) + " tokens");
    for (int32_t id : {d_.bos_id, d_.eos_id, d_.unk_id, d_.pad_id})
        if (id < -1 || id >= static_cast<int32_t>(n))
            throw Error("tokenizer: special token id " + std::to_string(id) + " outside the vocabulary");
    if (d_.kind == TokenizerData::Kind::ByteBPE && !pretokenizer_from_name(d_.pretokenizer, m.pre))
        throw Error("tokenizer: unknown pre-tokenizer '" + d_.pretokenizer + "'");
    m.ignore_merges = m.pre == PreTokenizerKind::Llama3;

    const bool spm = d_.kind == TokenizerData::Kind::SentencePieceBPE;
    m.index.reserve(n);
    m.bytes.resize(n);
    m.byte_token.fill(-1);
    m.spm.byte_tokens.fill(-1);
    for (size_t i = 0; i < n; ++i) {
        const std::string& t = d_.tokens[i];
        const int32_t id = static_cast<int32_t>(i);
        m.index.try_emplace(t, id);  // duplicates: the lowest id wins
        const int32_t type = d_.token_types.empty() ? kNormal : d_.token_types[i];
        if (type == kControl || type == kUserDefined) {
            if (!t.empty()) m.specials[static_cast<unsigned char>(t[0])].push_back({t, id, type == kControl});
            if (type == kUserDefined) m.bytes[i] = t;  // stored as plain text in both vocab kinds
        } else if (type == kByte && parse_byte_token(t) >= 0) {
            m.bytes[i] = std::string(1, static_cast<char>(parse_byte_token(t)));
            if (spm) m.spm.byte_tokens[parse_byte_token(t)] = id;
        } else if (type != kUnknown && type != kUnused) {  // normal, or a type we don't know
            if (spm) {
                m.bytes[i] = replace_all(t, kSpmSpace, " ");
            } else {
                byte_level_to_bytes(t, m.bytes[i]);
            }
        }
    }
    for (auto& list : m.specials)
        std::stable_sort(list.begin(), list.end(),
                         [](const Impl::Special& a, const Impl::Special& b) { return a.text.size() > b.text.size(); });

    m.eog.assign(n, false);
    for (int32_t id : d_.eog_ids)
        if (id >= 0 && id < static_cast<int32_t>(n)) m.eog[id] = true;
    if (d_.eos_id >= 0) m.eog[d_.eos_id] = true;

    if (spm) {
        m.spm.index = &m.index;
        m.spm.scores = &d_.scores;
        m.spm.unk_id = d_.unk_id;
        return;
    }
    for (int b = 0; b < 256; ++b) {
        const int32_t id = lookup_token(m.index, bytes_to_byte_level(std::string(1, static_cast<char>(b))));
        m.byte_token[b] = id;
    }
    for (size_t rank = 0; rank < d_.merges.size(); ++rank) {
        const std::string& mg = d_.merges[rank];
        // A token never contains a space in byte-level spelling, but be
        // tolerant of vocabularies where one does: take the first split
        // whose halves are both tokens.
        for (size_t sp = mg.find(' '); sp != std::string::npos; sp = mg.find(' ', sp + 1)) {
            const std::string_view l = std::string_view(mg).substr(0, sp), r = std::string_view(mg).substr(sp + 1);
            const int32_t li = lookup_token(m.index, l), ri = lookup_token(m.index, r);
            if (li < 0 || ri < 0) continue;
            std::string joined;
            joined.reserve(l.size() + r.size());
            joined.append(l).append(r);
            const int32_t mi = lookup_token(m.index, joined);
            if (mi >= 0) m.merges.add(li, ri, mi, static_cast<int32_t>(rank));
            break;
        }
    }
}

Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
    const Impl& m = *impl_;
    std::vector<int32_t> out;
    if (add_bos && d_.bos_id >= 0) out.push_back(d_.bos_id);

    const bool spm = d_.kind == TokenizerData::Kind::SentencePieceBPE;
    bool after_special = true;  // SPM adds its prefix space at the start and after each special token

    // Words repeat a lot in real text, so each distinct piece is merged once per call.
    std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
    std::vector<int32_t> cached_ids;
    std::vector<std::string_view> pieces;
    std::vector<int32_t> word;

    auto encode_bytes = [&](std::string_view piece) {
        if (auto it = cache.find(piece); it != cache.end()) {
            out.insert(out.end(), cached_ids.begin() + it->second.first,
                       cached_ids.begin() + it->second.first + it->second.second);
            return;
        }
        word.clear();
        const int32_t whole = m.ignore_merges ? lookup_token(m.index, bytes_to_byte_level(piece)) : -1;
        if (whole >= 0) {
            word.push_back(whole);
        } else {
            for (unsigned char c : piece) {
                int32_t id = m.byte_token[c] >= 0 ? m.byte_token[c] : d_.unk_id;
                if (id < 0) throw Error("tokenizer: vocabulary has no token for byte " + std::to_string(c));
                word.push_back(id);
            }
            m.merges.apply(word);
        }
        cache.emplace(piece, std::make_pair(static_cast<uint32_t>(cached_ids.size()), static_cast<uint32_t>(word.size())));
        cached_ids.insert(cached_ids.end(), word.begin(), word.end());
        out.insert(out.end(), word.begin(), word.end());
    };

    auto encode_plain = [&](std::string_view frag) {
        if (frag.empty()) return;
        if (spm) {
            std::string s;
            if (d_.add_space_prefix && after_special) s = " ";
            s.append(frag);
            spm_encode(m.spm, replace_all(s, " ", kSpmSpace), out);
        } else {
            pieces.clear();
            pretokenize(m.pre, frag, pieces);
            for (std::string_view p : pieces) encode_bytes(p);
        }
        after_special = false;
    };

    size_t start = 0;
    for (size_t pos = 0; pos < text.size();) {
        const Impl::Special* s = m.special_at(text, pos, parse_special);
        if (!s) {
            ++pos;
            continue;
        }
        encode_plain(text.substr(start, pos - start));
        out.push_back(s->id);
        after_special = true;
        pos += s->text.size();
        start = pos;
    }
    encode_plain(text.substr(start));
    return out;
}

size_t Tokenizer::unencodable_bytes(std::string_view text) const {
    if (d_.kind != TokenizerData::Kind::ByteBPE) return 0;
    size_t n = 0;
    for (unsigned char c : text) n += impl_->byte_token[c] < 0;
    return n;
}

std::string Tokenizer::token_bytes(int32_t id, bool render_special) const {
    if (id < 0 || id >= n_vocab()) throw Error("tokenizer: token id " + std::to_string(id) + " outside the vocabulary");
    const int32_t type = d_.token_types.empty() ? kNormal : d_.token_types[id];
    switch (type) {
    case kControl:
    case kUnused: return render_special ? d_.tokens[id] : std::string();
    case kUnknown: return render_special ? d_.tokens[id] : std::string(kReplacementChar);
    default: return impl_->bytes[id];
    }
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
    std::string out;
    bool first_text = true;
    for (int32_t id : ids) {
        std::string piece = token_bytes(id, render_special);
        if (piece.empty()) continue;
        // SentencePiece text starts with the prefix space the encoder added.
        const int32_t type = d_.token_types.empty() ? kNormal : d_.token_types[id];
        if (first_text && d_.kind == TokenizerData::Kind::SentencePieceBPE && d_.add_space_prefix &&
            type == kNormal && piece[0] == ' ')
            piece.erase(0, 1);
        first_text = false;
        out += piece;
    }
    return out;
}

bool Tokenizer::is_eog(int32_t id) const { return id >= 0 && id < n_vocab() && impl_->eog[id]; }

bool Tokenizer::is_control(int32_t id) const {
    return id >= 0 && id < n_vocab() && !d_.token_types.empty() && d_.token_types[id] == kControl;
}

int32_t Tokenizer::find_token(std::string_view piece) const { return lookup_token(impl_->index, piece); }

}  // namespace ap
