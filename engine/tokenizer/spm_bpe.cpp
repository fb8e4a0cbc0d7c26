// Symbols are byte spans of the text in a linked list; candidate pairs sit in
// a max-heap by (score, leftmost) and are checked for staleness when popped.
#include "spm_bpe.h"

#include "error.h"
#include "utf8.h"

#include <queue>

namespace ap {

namespace {

struct Symbol {
    size_t start, len;
    int prev, next;
};

struct Bigram {
    float score;
    int left, right;
    size_t len;  // combined length when queued; differs once either side changed
    bool operator<(const Bigram& o) const { return score != o.score ? score < o.score : left > o.left; }
};

}  // namespace

void spm_encode(const SpmVocab& vocab, std::string_view text, std::vector<int32_t>& out) {
    std::vector<Symbol> sym;
    sym.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        const size_t len = utf8_read(text.substr(pos)).len;
        const int i = static_cast<int>(sym.size());
        sym.push_back({pos, len, i - 1, i + 1});
        pos += len;
    }
    if (sym.empty()) return;
    sym.back().next = -1;

    std::priority_queue<Bigram> heap;
    auto consider = [&](int l, int r) {
        if (l < 0 || r < 0) return;
        const size_t len = sym[l].len + sym[r].len;
        const int32_t id = lookup_token(*vocab.index, text.substr(sym[l].start, len));
        if (id < 0) return;
        const float score = id < static_cast<int32_t>(vocab.scores->size()) ? (*vocab.scores)[id] : 0.0f;
        heap.push({score, l, r, len});
    };
    for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) consider(i, i + 1);

    while (!heap.empty()) {
        const Bigram b = heap.top();
        heap.pop();
        Symbol& l = sym[b.left];
        Symbol& r = sym[b.right];
        if (l.len == 0 || r.len == 0 || l.next != b.right || l.len + r.len != b.len) continue;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (l.next >= 0) sym[l.next].prev = b.left;
        consider(l.prev, b.left);
        consider(b.left, l.next);
    }

    for (int i = 0; i >= 0; i = sym[i].next) {
        const std::string_view piece = text.substr(sym[i].start, sym[i].len);
        const int32_t id = lookup_token(*vocab.index, piece);
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        // Only single characters can be missing (merges only build vocabulary pieces).
        for (unsigned char c : piece) {
            const int32_t bt = vocab.byte_tokens[c] >= 0 ? vocab.byte_tokens[c] : vocab.unk_id;
            if (bt < 0) throw Error("tokenizer: no byte-fallback or unknown token for byte " + std::to_string(c));
            out.push_back(bt);
        }
    }
}

}  // namespace ap
