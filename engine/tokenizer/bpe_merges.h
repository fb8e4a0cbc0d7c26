// Rank-ordered BPE merging over token ids (the GPT-2 / Hugging Face BPE
// algorithm): repeatedly merge the adjacent pair with the lowest merge rank,
// leftmost first on ties.
#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace ap {

class BpeMerges {
public:
    // Registers "left right -> merged" with priority rank (lower merges first).
    // A pair already registered keeps its first (best) rank.
    void add(int32_t left, int32_t right, int32_t merged, int32_t rank);
    size_t size() const { return table_.size(); }

    // Merges ids in place until no adjacent pair has a rule.
    void apply(std::vector<int32_t>& ids) const;

private:
    struct Rule {
        int32_t rank;
        int32_t merged;
    };
    static uint64_t key(int32_t l, int32_t r) { return (uint64_t(uint32_t(l)) << 32) | uint32_t(r); }
    const Rule* find(int32_t l, int32_t r) const;

    std::unordered_map<uint64_t, Rule> table_;
};

}  // namespace ap
