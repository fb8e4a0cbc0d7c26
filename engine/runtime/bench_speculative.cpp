// anyprec bench --draft-bits: speculative against plain decoding, alternating.
#include "bench.h"
#include "chat_template.h"
#include "generator.h"

namespace ap {

const std::vector<std::string>& bench_chat_prompts() {
    static const std::vector<std::string> prompts = {
        "What is the capital of France, and what is it known for?",
        "Explain in simple words why the sky is blue.",
        "Write a short poem about the sea.",
        "Give me three tips for learning a new language.",
        "Write a Python function that checks whether a number is prime.",
        "What are the main differences between a cat and a dog as pets?",
        "Summarize the plot of Romeo and Juliet in a few sentences.",
        "How do I make a cup of tea?",
        "List five fruits that are rich in vitamin C.",
        "What is photosynthesis?",
        "Write a polite email declining a meeting invitation.",
        "Explain what a neural network is to a ten-year-old.",
        "What should I pack for a weekend hiking trip?",
        "Translate 'good morning, how are you?' into Spanish and French.",
        "Why do we have seasons on Earth?",
        "Write a haiku about autumn leaves.",
        "What is the difference between weather and climate?",
        "Give me a recipe for a simple pasta dinner.",
        "How does a bicycle stay upright when it moves?",
        "Write a C function that reverses a string in place.",
        "What are some good habits for better sleep?",
        "Describe the water cycle step by step.",
        "Tell me a fun fact about octopuses.",
        "What is the Pythagorean theorem? Give an example.",
    };
    return prompts;
}

std::vector<std::vector<int32_t>> chat_prompt_tokens(const Model& m, const std::vector<std::string>& texts) {
    const auto& td = m.tok->data();
    const std::string bos = td.add_bos && td.bos_id >= 0 ? m.tok->token_bytes(td.bos_id, true) : std::string();
    std::vector<std::vector<int32_t>> out;
    for (const auto& t : texts) out.push_back(m.tok->encode(format_chat(m.chat_format, {{"user", t}}, true, bos), false, true));
    return out;
}

SpecBench bench_speculative(Session& s, const std::vector<std::vector<int32_t>>& prompts, int bits, int draft_bits,
                            int draft_k, bool adaptive, const SpecBenchOptions& o) {
    const Model& m = s.model();
    SpecBench b;
    b.bits = m.resolve_bits(bits);
    b.draft_bits = m.resolve_bits(draft_bits);
    b.draft_k = draft_k;
    b.adaptive = adaptive;
    b.prompts = int(prompts.size());
    GenerateRequest req;
    req.bits = bits;
    req.max_tokens = o.max_tokens;
    req.sampling.temperature = 0;
    req.sampling.repeat_penalty = 1;
    req.stop = chat_stop_strings(m.chat_format);
    double plain_s = 0, spec_s = 0;
    int64_t plain_n = 0, spec_n = 0, drafted = 0, accepted = 0, rounds = 0;
    for (int r = 0; r < std::max(1, o.rounds); ++r)
        for (const auto& p : prompts) {
            req.prompt = p;
            req.draft_bits = 0;
            s.reset();
            const GenerateResult plain = s.generate(req);
            req.draft_bits = draft_bits;
            req.draft_k = draft_k;
            req.adaptive_k = adaptive;
            s.reset();
            const GenerateResult spec = s.generate(req);
            // Decode time runs from the first token, so count the tokens after it.
            plain_s += plain.decode_s, plain_n += std::max(0, plain.n_generated - 1);
            spec_s += spec.decode_s, spec_n += std::max(0, spec.n_generated - 1);
            drafted += spec.n_drafted, accepted += spec.n_accepted, rounds += spec.n_rounds;
            if (r == 0) {
                b.identical += plain.tokens == spec.tokens;
                b.tokens += plain.n_generated;
            }
        }
    s.reset();
    b.plain_tok_s = plain_s > 0 ? plain_n / plain_s : 0;
    b.spec_tok_s = spec_s > 0 ? spec_n / spec_s : 0;
    b.acceptance = drafted ? double(accepted) / drafted : 0;
    b.round_tokens = rounds ? double(accepted + rounds) / rounds : 0;
    return b;
}

}  // namespace ap
