// Command-line options in llama.cpp's style (-n/--max-tokens, --temp, ...):
// each command declares its options; parsing rejects unknown flags by name.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace apcli {

struct OptionSpec {
    std::string long_name;   // "--max-tokens"
    std::string short_name;  // "-n" or ""
    bool takes_value = true;
    std::string help;
    std::string def;         // shown in help
};

class Args {
public:
    // Throws std::runtime_error("unknown option --x") etc.
    Args(const std::vector<OptionSpec>& specs, int argc, char** argv, int first);
    bool has(const std::string& long_name) const { return values_.count(long_name) > 0; }
    std::string str(const std::string& long_name, const std::string& def = "") const;
    // An integer in [lo, hi]; anything else (not a number, out of range,
    // too large for 64 bits) throws an error that states the range.
    long long integer(const std::string& long_name, long long def, long long lo, long long hi) const;
    double number(const std::string& long_name, double def) const;
    // "3,4,5" or "3-8", every value in [lo, hi] (checked before a range is expanded).
    std::vector<int> int_list(const std::string& long_name, int lo, int hi) const;
    const std::vector<std::string>& positional() const { return pos_; }
    bool help() const { return help_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> pos_;
    bool help_ = false;
};

std::string usage_text(const std::string& synopsis, const std::string& about, const std::vector<OptionSpec>& specs);

// --kv-cache (the run, chat, bench and ppl commands).
OptionSpec kv_cache_option();
OptionSpec code_copy_option();  // --code-copy B (SessionOptions::code_copy_from)
OptionSpec copy_budget_option();  // --copy-budget MiB (SessionOptions::code_copy_budget)
// Options shared by the commands that generate text.
std::vector<OptionSpec> sampling_options();
std::vector<OptionSpec> operator+(std::vector<OptionSpec> a, const std::vector<OptionSpec>& b);

}  // namespace apcli
