#include "cli_args.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace apcli {

Args::Args(const std::vector<OptionSpec>& specs, int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            help_ = true;
            continue;
        }
        if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.'))) {
            std::string value;
            bool inline_value = false;
            if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
                value = a.substr(eq + 1);
                a = a.substr(0, eq);
                inline_value = true;
            }
            const OptionSpec* spec = nullptr;
            for (const auto& s : specs)
                if (a == s.long_name || (!s.short_name.empty() && a == s.short_name)) spec = &s;
            if (!spec) throw std::runtime_error("unknown option " + a + " (see --help)");
            if (spec->takes_value) {
                if (!inline_value) {
                    if (i + 1 >= argc) throw std::runtime_error("option " + a + " needs a value");
                    value = argv[++i];
                }
            } else {
                value = "1";
            }
            values_[spec->long_name] = value;
        } else {
            pos_.push_back(a);
        }
    }
}

std::string Args::str(const std::string& n, const std::string& def) const {
    auto it = values_.find(n);
    return it == values_.end() ? def : it->second;
}

namespace {

std::string range_text(long long lo, long long hi) { return std::to_string(lo) + ".." + std::to_string(hi); }

// Whole-string decimal integer in [lo, hi]; `what` names the option in errors.
long long parse_integer(const std::string& n, const std::string& text, long long lo, long long hi) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    const bool digits = !text.empty() && !std::isspace(static_cast<unsigned char>(text[0]));
    if (!digits || !end || *end) throw std::runtime_error("option " + n + ": '" + text + "' is not an integer");
    if (errno == ERANGE || v < lo || v > hi)
        throw std::runtime_error("option " + n + ": " + text + " is out of range (accepted: " + range_text(lo, hi) + ")");
    return v;
}

}  // namespace

long long Args::integer(const std::string& n, long long def, long long lo, long long hi) const {
    auto it = values_.find(n);
    if (it == values_.end()) return def;
    return parse_integer(n, it->second, lo, hi);
}

double Args::number(const std::string& n, double def) const {
    auto it = values_.find(n);
    if (it == values_.end()) return def;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    if (!end || *end || it->second.empty()) throw std::runtime_error("option " + n + ": '" + it->second + "' is not a number");
    return v;
}

std::vector<int> Args::int_list(const std::string& n, int lo, int hi) const {
    std::vector<int> out;
    auto it = values_.find(n);
    if (it == values_.end()) return out;
    if (it->second.empty()) throw std::runtime_error("option " + n + ": empty list (give e.g. 3,4,5 or 3-8)");
    std::stringstream ss(it->second);
    std::string part;
    auto one = [&](const std::string& text) {
        try {
            return static_cast<int>(parse_integer(n, text, lo, hi));
        } catch (const std::runtime_error& e) {
            throw std::runtime_error(std::string(e.what()) + "; give a list like 3,4,5 or 3-8");
        }
    };
    while (std::getline(ss, part, ',')) {
        if (auto d = part.find('-'); d != std::string::npos && d > 0) {
            const int a = one(part.substr(0, d)), b = one(part.substr(d + 1));
            if (a > b) throw std::runtime_error("option " + n + ": range " + part + " runs backwards");
            for (int v = a; v <= b; ++v) out.push_back(v);  // both ends are in [lo, hi]
        } else {
            out.push_back(one(part));
        }
    }
    return out;
}

std::string usage_text(const std::string& synopsis, const std::string& about, const std::vector<OptionSpec>& specs) {
    std::ostringstream o;
    o << "usage: " << synopsis << "\n\n" << about << "\n\noptions:\n";
    for (const auto& s : specs) {
        std::string names = (s.short_name.empty() ? "    " : s.short_name + ", ") + s.long_name + (s.takes_value ? " V" : "");
        o << "  " << names;
        for (size_t i = names.size(); i < 26; ++i) o << ' ';
        o << " " << s.help;
        if (!s.def.empty()) o << " (default: " << s.def << ")";
        o << "\n";
    }
    o << "  -h, --help                 show this help\n";
    return o.str();
}

OptionSpec kv_cache_option() {
    return {"--kv-cache", "", true, "KV cache rows: f16, or q8 (int8 with a scale per row: half the memory and the bytes read at long contexts)", "f16"};
}

OptionSpec code_copy_option() {
    return {"--code-copy", "", true, "widths from B up keep a copy of the active width's codes (faster decode: up to 1 byte per weight, read instead of planes and table lookups); always = from the width where the kernel set's copy pays (AVX2: 3 bits, AVX-512: 8); auto = the same when the copies fit in a quarter of the memory, and at each width only where they timed faster than the planes here; 0 = off", "auto"};
}

OptionSpec copy_budget_option() {
    return {"--copy-budget", "", true, "MiB that --code-copy auto may give the copies; when all of them need more, the largest matrices that fit keep copies and the rest read the planes", "a quarter of the memory"};
}

std::vector<OptionSpec> sampling_options() {
    return {
        {"--max-tokens", "-n", true, "maximum tokens to generate", "256"},
        {"--temp", "", true, "temperature; 0 = greedy", "0.7"},
        {"--top-k", "", true, "top-k sampling; 0 = off", "40"},
        {"--top-p", "", true, "top-p (nucleus) sampling; 1 = off", "0.95"},
        {"--min-p", "", true, "min-p sampling; 0 = off", "0.05"},
        {"--repeat-penalty", "", true, "repetition penalty; 1 = off", "1.1"},
        {"--repeat-last-n", "", true, "tokens the repetition penalty looks back", "64"},
        {"--seed", "", true, "random seed (same seed, same text)", "42"},
        {"--threads", "-t", true, "threads", "CPUs available"},
        {"--ctx", "", true, "context length (tokens)", "2048"},
        kv_cache_option(),
        code_copy_option(),
        copy_budget_option(),
        {"--kernels", "", true, "CPU kernel set: auto, avxvnni (AVX2 with AVX-VNNI), avx2 or scalar (to compare sets on one CPU)", "auto"},
        {"--bits", "", true, "width for any-precision models", "parent width"},
        {"--head-min-bits", "", true, "serve the embedding/head at no less than this width (0 = at the served width)", "the checkpoint's choice"},
        {"--draft-bits", "", true, "self-speculative decoding: draft at this width, verify at --bits", "off"},
        {"--draft-k", "", true, "tokens drafted per round (adapts as drafts are accepted)", "4"},
        {"--fixed-k", "", false, "keep --draft-k fixed instead of adapting it", ""},
        {"--target-tps", "", true, "pick the width token by token to hold this decode rate (tokens/s; --bits caps it)", "off"},
    };
}

std::vector<OptionSpec> operator+(std::vector<OptionSpec> a, const std::vector<OptionSpec>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace apcli
