// Merge loop: a min-heap of candidate pairs keyed by (rank, position) over a
// doubly linked list of symbols. Entries made stale by earlier merges are
// recognised when popped (their symbols changed) and skipped, which keeps a
// word of n symbols at O(n log n) instead of the naive O(n^2) rescans.
#include "bpe_merges.h"

#include <algorithm>
#include <queue>

namespace ap {

void BpeMerges::add(int32_t left, int32_t right, int32_t merged, int32_t rank) {
    table_.try_emplace(key(left, right), Rule{rank, merged});
}

const BpeMerges::Rule* BpeMerges::find(int32_t l, int32_t r) const {
    auto it = table_.find(key(l, r));
    return it == table_.end() ? nullptr : &it->second;
}

void BpeMerges::apply(std::vector<int32_t>& ids) const {
    const int n = static_cast<int>(ids.size());
    if (n < 2) return;

    struct Candidate {
        int32_t rank;
        int left, right;
        int32_t left_id, right_id;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::vector<int> prev(n), next(n);
    for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1;
    next[n - 1] = -1;

    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto consider = [&](int l, int r) {
        if (l < 0 || r < 0) return;
        if (const Rule* rule = find(ids[l], ids[r])) heap.push({rule->rank, l, r, ids[l], ids[r]});
    };
    for (int i = 0; i + 1 < n; ++i) consider(i, i + 1);

    while (!heap.empty()) {
        const Candidate c = heap.top();
        heap.pop();
        // Stale: one side was merged away or changed since this entry was made.
        if (next[c.left] != c.right || ids[c.left] != c.left_id || ids[c.right] != c.right_id) continue;
        ids[c.left] = find(c.left_id, c.right_id)->merged;
        ids[c.right] = -1;
        next[c.left] = next[c.right];
        if (next[c.left] >= 0) prev[next[c.left]] = c.left;
        consider(prev[c.left], c.left);
        consider(c.left, next[c.left]);
    }
    ids.erase(std::remove(ids.begin(), ids.end(), -1), ids.end());
}

}  // namespace ap
