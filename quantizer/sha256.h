// SHA-256 of files, for the provenance recorded in a checkpoint (FIPS 180-4).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ap {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t n);
    std::string hex_digest();  // finishes the hash; call once

private:
    void block(const uint8_t* p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

// Hex digest of a file's bytes; of a directory (a Hugging Face folder): of every
// regular file's relative name and bytes, in name order. Throws ap::Error naming the path.
std::string sha256_path(const std::string& path);

}  // namespace ap
