// Shared helpers for tests: where the set-up cache is, and skipping vs
// failing when real data is missing (ANYPREC_REQUIRE_DATA=1 makes it fail).
#pragma once
#include <QtTest>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace aptest {

inline std::string cache_dir() {
    if (const char* c = std::getenv("ANYPREC_CACHE"); c && *c) return c;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "/root") + "/.cache/anyprec";
}
inline std::string smollm_path() { return cache_dir() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"; }
inline std::string text_path(const std::string& name) { return cache_dir() + "/text/" + name; }
inline bool require_data() {
    const char* r = std::getenv("ANYPREC_REQUIRE_DATA");
    return r && std::string(r) == "1";
}
// This process's scratch folder, removed with everything in it when the
// process exits (the test runs once left hundreds behind in /tmp).
inline std::string temp_dir() {
    struct Scratch {
        std::filesystem::path path =
            std::filesystem::temp_directory_path() / ("anyprec-test-" + std::to_string(::getpid()));
        ~Scratch() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    };
    static const Scratch scratch;
    std::filesystem::create_directories(scratch.path);
    return scratch.path.string();
}

}  // namespace aptest

// Skip (or fail under ANYPREC_REQUIRE_DATA=1) when a data file from set-up is absent.
#define AP_REQUIRE_FILE(path)                                                              \
    do {                                                                                   \
        if (!std::filesystem::exists(path)) {                                              \
            if (aptest::require_data()) QFAIL(qPrintable(QString("missing data file: ") + QString::fromStdString(path))); \
            QSKIP(qPrintable(QString("missing data file (run set-up): ") + QString::fromStdString(path))); \
        }                                                                                  \
    } while (0)
