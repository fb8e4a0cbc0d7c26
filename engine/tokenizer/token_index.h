// Text -> id lookup for vocabularies, searchable with a string_view so the
// hot encode loops never build temporary strings.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ap {

struct TokenTextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using TokenIndex = std::unordered_map<std::string, int32_t, TokenTextHash, std::equal_to<>>;

inline int32_t lookup_token(const TokenIndex& index, std::string_view text) {
    auto it = index.find(text);
    return it == index.end() ? -1 : it->second;
}

}  // namespace ap
