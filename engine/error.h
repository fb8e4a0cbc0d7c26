// Error type for every engine failure the user can cause (bad files, bad
// arguments): the message always names the file or argument at fault.
#pragma once
#include <stdexcept>
#include <string>

namespace ap {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A long operation stopped through its cancel flag (nothing was left behind).
struct Cancelled : Error {
    using Error::Error;
};

// "file: problem" — the one way engine code phrases a file error.
inline Error file_error(const std::string& path, const std::string& problem) {
    return Error(path + ": " + problem);
}

}  // namespace ap
