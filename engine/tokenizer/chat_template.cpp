#include "chat_template.h"

namespace ap {

const char* chat_format_name(ChatFormat f) {
    switch (f) {
    case ChatFormat::ChatML: return "chatml";
    case ChatFormat::Llama2: return "llama2";
    case ChatFormat::Llama3: return "llama3";
    case ChatFormat::Zephyr: return "zephyr";
    case ChatFormat::Phi3: return "phi3";
    case ChatFormat::Gemma: return "gemma";
    }
    return "chatml";
}

ChatFormat detect_chat_format(const std::string& t, std::string* warning) {
    auto has = [&](const char* s) { return t.find(s) != std::string::npos; };
    if (has("<|im_start|>")) return ChatFormat::ChatML;
    if (has("<|start_header_id|>")) return ChatFormat::Llama3;
    if (has("<start_of_turn>")) return ChatFormat::Gemma;
    // Phi-3 ends turns with <|end|>; Zephyr, with the same role markers, with </s>.
    if (has("<|user|>") && has("<|assistant|>") && has("<|end|>")) return ChatFormat::Phi3;
    if (has("<|user|>") && has("<|assistant|>")) return ChatFormat::Zephyr;
    if (has("[INST]")) return ChatFormat::Llama2;
    if (warning)
        *warning = t.empty() ? "model has no chat template; using ChatML"
                             : "unrecognised chat template; using ChatML";
    return ChatFormat::ChatML;
}

std::string format_chat(ChatFormat f, const std::vector<ChatMessage>& msgs, bool add_generation_prompt,
                        const std::string& bos_text) {
    std::string out;
    switch (f) {
    case ChatFormat::ChatML:
        for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
        if (add_generation_prompt) out += "<|im_start|>assistant\n";
        break;
    case ChatFormat::Llama3:
        out += bos_text;
        for (const auto& m : msgs)
            out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
        if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
        break;
    case ChatFormat::Zephyr:
        for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "</s>\n";
        if (add_generation_prompt) out += "<|assistant|>\n";
        break;
    case ChatFormat::Phi3:
        out += bos_text;  // empty unless the vocabulary adds BOS (as llama.cpp tokenizes it)
        for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
        if (add_generation_prompt) out += "<|assistant|>\n";
        break;
    case ChatFormat::Gemma: {
        // Gemma has no system role: its text opens the first user turn (as Gemma 3's template does).
        out += bos_text;
        std::string system;
        for (const auto& m : msgs) {
            if (m.role == "system") {
                system += m.content + "\n\n";
                continue;
            }
            const std::string role = m.role == "assistant" ? "model" : m.role;
            out += "<start_of_turn>" + role + "\n" + (role == "user" ? system : std::string()) + m.content + "<end_of_turn>\n";
            if (role == "user") system.clear();
        }
        if (add_generation_prompt) out += "<start_of_turn>model\n";
        break;
    }
    case ChatFormat::Llama2: {
        // The system prompt folds into the first user turn, as Llama 2 was trained.
        std::string system;
        bool first_user = true;
        for (const auto& m : msgs) {
            if (m.role == "system") {
                system = m.content;
            } else if (m.role == "user") {
                out += bos_text + "[INST] ";
                if (first_user && !system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
                first_user = false;
                out += m.content + " [/INST]";
            } else {
                out += " " + m.content + " </s>";
            }
        }
        break;
    }
    }
    return out;
}

std::vector<std::string> chat_stop_strings(ChatFormat f) {
    switch (f) {
    case ChatFormat::ChatML: return {"<|im_end|>", "<|im_start|>"};
    case ChatFormat::Llama3: return {"<|eot_id|>", "<|start_header_id|>"};
    case ChatFormat::Zephyr: return {"</s>", "<|user|>"};
    case ChatFormat::Phi3: return {"<|end|>", "<|user|>", "<|endoftext|>"};
    case ChatFormat::Gemma: return {"<end_of_turn>", "<start_of_turn>"};
    case ChatFormat::Llama2: return {"</s>", "[INST]"};
    }
    return {};
}

}  // namespace ap
