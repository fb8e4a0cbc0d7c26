// Writes the seed corpora for the fuzz targets from the tiny test models:
// real-format files the targets must accept, for the fuzzer to mutate.
//   fuzz_seeds OUTDIR  ->  OUTDIR/<target>/seed-*
#include "anyprec_checkpoint.h"
#include "quantize.h"
#include "tiny_model.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

static void copy_in(const std::string& from, const std::string& to) { fs::copy_file(from, to, fs::copy_options::overwrite_existing); }

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_seeds OUTDIR\n");
        return 2;
    }
    const fs::path out = argv[1];
    for (const char* t : {"gguf", "safetensors", "checkpoint", "tokenizer_json", "chat_template", "encode"})
        fs::create_directories(out / t);
    const fs::path work = out / "work";
    fs::create_directories(work);

    // Small shapes keep the inputs (and so each execution) small.
    const aptest::TinyModel m = aptest::make_tiny_model(11, false, 32, 2, 1, 32);
    const aptest::TinyModel tied = aptest::make_tiny_model(12, true, 32, 2, 2, 32);
    aptest::write_tiny_gguf(m, (out / "gguf" / "seed-f32.gguf").string());
    aptest::write_tiny_gguf(tied, (out / "gguf" / "seed-q8_0.gguf").string(), ap::GgmlType::Q8_0);
    aptest::write_tiny_gguf(m, (out / "gguf" / "seed-q4_1.gguf").string(), ap::GgmlType::Q4_1);
    {
        ap::GgufWriter g;  // vocabulary only
        g.set_string("general.architecture", "llama");
        g.set_string("tokenizer.ggml.model", "gpt2");
        g.set_string_array("tokenizer.ggml.tokens", m.tokens);
        g.set_string_array("tokenizer.ggml.merges", m.merges);
        g.write((out / "gguf" / "seed-vocab.gguf").string());
    }

    aptest::write_tiny_hf(m, (work / "hf").string());
    copy_in((work / "hf" / "model.safetensors").string(), (out / "safetensors" / "seed-model.safetensors").string());
    {
        std::ifstream a(work / "hf" / "tokenizer.json", std::ios::binary), b(work / "hf" / "tokenizer_config.json", std::ios::binary);
        std::string tj((std::istreambuf_iterator<char>(a)), {}), tc((std::istreambuf_iterator<char>(b)), {});
        aptest::write_text((out / "tokenizer_json" / "seed-bytelevel.json").string(), tj);
        aptest::write_text((out / "tokenizer_json" / "seed-with-config.json").string(), tj + std::string(1, '\0') + tc);
    }

    aptest::write_text((work / "calib.txt").string(), std::string(40, ' ') + [] { std::string s; for (int i = 0; i < 60; ++i) s += "the then there the other then them the end. "; return s; }());
    ap::QuantizeOptions q;
    q.source = (out / "gguf" / "seed-f32.gguf").string();
    q.output = (out / "checkpoint" / "seed-ckpt.safetensors").string();
    q.calib_path = (work / "calib.txt").string();
    q.calib_tokens = 64;
    q.seed_bits = 3;
    q.parent_bits = 5;
    q.threads = 1;
    ap::quantize_model(q, nullptr, nullptr);

    const char* templates[] = {
        "{% for m in messages %}<|im_start|>{{m.role}}\n{{m.content}}<|im_end|>\n{% endfor %}",
        "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
        "{{ message['content'] | trim }}<|eot_id|>{% endfor %}",
        "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% endif %}{% endfor %}",
        "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n{% endfor %}",
        "{% for message in messages %}<|user|>\n{{ message['content'] }}<|end|>\n<|assistant|>\n{% endfor %}",
        "{{ bos_token }}{% for message in messages %}<start_of_turn>user\n{{ message['content'] }}<end_of_turn>\n{% endfor %}",
    };
    int k = 0;
    for (const char* t : templates) aptest::write_text((out / "chat_template" / ("seed-" + std::to_string(k++))).string(), t);

    const char* texts[] = {"Hello, world! The 2024 caf\xc3\xa9 \xe2\x80\x94 it's   spaced\n\ttabs",
                           "the then there 12345 'll 've",
                           "\xff\xfe invalid \xc3 utf-8 \xe2\x82",
                           "<|im_start|>user\nhi<|im_end|>"};
    k = 0;
    for (const char* t : texts) aptest::write_text((out / "encode" / ("seed-" + std::to_string(k++))).string(), t);
    fs::remove_all(work);
    std::printf("seed corpora written to %s\n", out.c_str());
    return 0;
}
