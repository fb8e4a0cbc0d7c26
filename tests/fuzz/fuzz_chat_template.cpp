// Chat-template detection on arbitrary template text, then formatting a
// conversation in whatever format was detected.
#include "chat_template.h"
#include "fuzz_input.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    apfuzz::expect_clean([&] {
        std::string warning;
        const ap::ChatFormat f = ap::detect_chat_format(text, &warning);
        const std::vector<ap::ChatMessage> msgs = {{"system", "Be brief."}, {"user", text.substr(0, 64)}, {"assistant", "ok"}};
        (void)ap::format_chat(f, msgs, true, "<s>");
        (void)ap::chat_stop_strings(f);
    });
    return 0;
}
