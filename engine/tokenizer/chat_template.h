// Chat prompt formats known by name; picked from the model's template text
// by recognising its markers. No template code is ever executed.
#pragma once
#include <string>
#include <vector>

namespace ap {

enum class ChatFormat { ChatML, Llama2, Llama3, Zephyr, Phi3, Gemma };

struct ChatMessage {
    std::string role;  // "system", "user", "assistant"
    std::string content;
};

const char* chat_format_name(ChatFormat f);
// `warning` is set when the template is not recognised (ChatML is used then).
ChatFormat detect_chat_format(const std::string& template_text, std::string* warning);
// The prompt text; special tokens appear as text and are parsed by the tokenizer.
std::string format_chat(ChatFormat f, const std::vector<ChatMessage>& msgs, bool add_generation_prompt,
                        const std::string& bos_text);
// Strings that end an assistant turn in this format (besides EOS tokens).
std::vector<std::string> chat_stop_strings(ChatFormat f);

}  // namespace ap
