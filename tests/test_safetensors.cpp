// safetensors reader/writer, fp16/bf16 rounding, Hugging Face folders (single
// and sharded), corrupt and truncated files, and write failures.
#include "error.h"
#include "safetensors.h"
#include "test_util.h"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sys/resource.h>

using namespace ap;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_text(const std::string& path, const std::string& s) { std::ofstream(path, std::ios::binary) << s; }

// A safetensors file from a header JSON text and raw data, as other tools lay it out.
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> b(8 + header.size() + data.size());
    const uint64_t n = header.size();
    std::memcpy(b.data(), &n, 8);
    std::memcpy(b.data() + 8, header.data(), header.size());
    if (!data.empty()) std::memcpy(b.data() + 8 + header.size(), data.data(), data.size());
    return b;
}

// Runs f, expecting ap::Error whose message contains every fragment.
template <class F>
void expect_error(F f, const std::vector<std::string>& fragments) {
    try {
        f();
    } catch (const Error& e) {
        const std::string m = e.what();
        for (const std::string& w : fragments)
            QVERIFY2(m.find(w) != std::string::npos, (m + "  [missing: " + w + "]").c_str());
        return;
    }
    QFAIL(qPrintable(QString("expected ap::Error mentioning ") + QString::fromStdString(fragments.at(0))));
}

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
    std::string dir_;
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

private slots:
    void initTestCase() {
        dir_ = aptest::temp_dir() + "/safetensors";
        fs::create_directories(dir_);
    }
    void cleanupTestCase() { fs::remove_all(dir_); }

    void roundTrip() {
        std::vector<float> f32(15);
        for (size_t k = 0; k < f32.size(); ++k) f32[k] = std::sin(float(k)) * 100.f;
        const std::vector<float> halves = {0.f, -0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f, 1e-3f,
                                           std::numeric_limits<float>::infinity(), -3.14159f, 1000.5f, 0.1f};
        const std::vector<int8_t> i8 = {-128, -1, 0, 1, 127};  // 5 bytes: the next tensor needs padding
        const std::vector<uint32_t> u32 = {0, 1, 0xFFFFFFFFu, 123456789u, 42, 7};

        SafetensorsWriter w;
        w.set_metadata("format", "pt");
        w.set_metadata("note", "anyprec test \"quoted\"");
        w.add_f32("a.f32", {3, 5}, f32.data());
        w.add("b.i8", StDType::I8, {5}, i8.data(), i8.size());
        w.add_f16_from_f32("c.f16", {3, 4}, halves.data());
        w.add_bf16_from_f32("d.bf16", {2, 2, 3}, halves.data());
        w.add("e.u32", StDType::U32, {2, 3}, u32.data(), u32.size() * 4);
        w.add("f.empty", StDType::F32, {0, 4}, nullptr, 0);
        const std::string p = path("rt.safetensors");
        w.write(p);
        QVERIFY(!fs::exists(p + ".tmp"));

        SafetensorsFile f(p);
        QCOMPARE(f.tensors().size(), size_t(6));
        QCOMPARE(f.metadata().size(), size_t(2));
        QCOMPARE(f.metadata().at("format"), std::string("pt"));
        QCOMPARE(f.metadata().at("note"), std::string("anyprec test \"quoted\""));

        const StTensor* a = f.find("a.f32");
        QVERIFY(a);
        QCOMPARE(a->dtype, StDType::F32);
        QCOMPARE(a->shape, (std::vector<int64_t>{3, 5}));
        QCOMPARE(a->n_elements(), int64_t(15));
        QCOMPARE(st_to_f32(*a, p), f32);  // exact

        const StTensor* b = f.find("b.i8");
        QCOMPARE(b->nbytes, size_t(5));
        QVERIFY(std::memcmp(b->data, i8.data(), 5) == 0);
        expect_error([&] { st_to_f32(*b, p); }, {p, "b.i8", "I8"});

        const StTensor* c = f.find("c.f16");
        QCOMPARE(c->dtype, StDType::F16);
        auto cf = st_to_f32(*c, p);
        for (size_t k = 0; k < halves.size(); ++k) {
            const float want = f16_to_f32(f32_to_f16(halves[k]));
            QCOMPARE(cf[k], want);
            QVERIFY(std::fabs(cf[k] - halves[k]) <= std::fabs(halves[k]) * 0x1p-11f || std::isinf(halves[k]));
        }
        QVERIFY(std::signbit(cf[1]));
        QCOMPARE(cf[4], 65504.f);

        const StTensor* d = f.find("d.bf16");
        QCOMPARE(d->shape, (std::vector<int64_t>{2, 2, 3}));
        auto df = st_to_f32(*d, p);
        for (size_t k = 0; k < halves.size(); ++k)
            QVERIFY(std::fabs(df[k] - halves[k]) <= std::fabs(halves[k]) * 0x1p-8f || std::isinf(halves[k]));

        const StTensor* e = f.find("e.u32");
        QCOMPARE(e->dtype, StDType::U32);
        QVERIFY(std::memcmp(e->data, u32.data(), 24) == 0);
        QCOMPARE(f.find("f.empty")->n_elements(), int64_t(0));
        QVERIFY(f.find("nope") == nullptr);

        // The data section starts 64-byte aligned; tensors follow back to back
        // with no holes, as the format requires for other tools to load it.
        auto bytes = read_bytes(p);
        uint64_t hlen;
        std::memcpy(&hlen, bytes.data(), 8);
        QCOMPARE((8 + hlen) % 64, uint64_t(0));
        json h = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(hlen));
        int tensors = 0;
        std::vector<std::pair<uint64_t, uint64_t>> ranges;
        for (auto it = h.begin(); it != h.end(); ++it) {
            if (it.key() == "__metadata__") continue;
            ++tensors;
            const uint64_t off = it.value()["data_offsets"][0];
            ranges.push_back({off, it.value()["data_offsets"][1]});
            const StTensor* t = f.find(it.key());
            QVERIFY(t->nbytes == 0 || std::memcmp(t->data, bytes.data() + 8 + hlen + off, t->nbytes) == 0);
        }
        QCOMPARE(tensors, 6);
        std::sort(ranges.begin(), ranges.end());
        uint64_t end = 0;
        for (auto& [b, e] : ranges) {
            QCOMPARE(b, end);
            end = e;
        }
        QCOMPARE(8 + hlen + end, uint64_t(bytes.size()));
    }

    // A densely packed file as other tools write it (no alignment padding).
    void readsForeignLayout() {
        std::vector<uint8_t> data(16);
        const float a[2] = {1.5f, -2.f};
        const int64_t b = -77;
        std::memcpy(data.data(), a, 8);
        std::memcpy(data.data() + 8, &b, 8);
        const std::string p = path("foreign.safetensors");
        write_bytes(p, raw_file(R"({"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},)"
                                R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  )",
                                data));
        SafetensorsFile f(p);
        QCOMPARE(st_to_f32(*f.find("a"), p), (std::vector<float>{1.5f, -2.f}));
        int64_t got;
        std::memcpy(&got, f.find("b")->data, 8);
        QCOMPARE(got, int64_t(-77));
        QVERIFY(f.metadata().empty());
    }

    void halfConversionsExhaustive() {
        // Every half value survives a round trip through fp32 (NaNs stay NaN).
        for (uint32_t h = 0; h < 65536; ++h) {
            const float f = f16_to_f32(static_cast<uint16_t>(h));
            const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
            if (nan) {
                QVERIFY(std::isnan(f));
                const uint16_t back = f32_to_f16(f);
                QVERIFY((back & 0x7c00) == 0x7c00 && (back & 0x3ff));
                continue;
            }
            if (f32_to_f16(f) != h) QFAIL(qPrintable(QString("half 0x%1 does not round-trip").arg(h, 0, 16)));
        }
        // Exact midpoints between neighbours round to the even one; a hair above rounds up.
        for (uint32_t h = 0; h < 0x7bff; ++h) {  // 0x7bff..inf is checked below
            const float lo = f16_to_f32(static_cast<uint16_t>(h)), hi = f16_to_f32(static_cast<uint16_t>(h + 1));
            const float mid = static_cast<float>((double(lo) + double(hi)) / 2);  // exact in fp32
            const uint16_t even = (h & 1) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h);
            if (f32_to_f16(mid) != even || f32_to_f16(-mid) != (even | 0x8000))
                QFAIL(qPrintable(QString("midpoint above half 0x%1 rounds wrong").arg(h, 0, 16)));
            if (f32_to_f16(std::nextafter(mid, 1e9f)) != h + 1 || f32_to_f16(std::nextafter(mid, 0.f)) != h)
                QFAIL(qPrintable(QString("near-midpoint above half 0x%1 rounds wrong").arg(h, 0, 16)));
        }
        QCOMPARE(f16_to_f32(0x3C00), 1.f);
        QCOMPARE(f16_to_f32(0x0001), 5.9604645e-08f);  // smallest subnormal
        QCOMPARE(f16_to_f32(0x7BFF), 65504.f);
        QCOMPARE(f32_to_f16(65519.99f), uint16_t(0x7BFF));
        QCOMPARE(f32_to_f16(65520.f), uint16_t(0x7C00));  // halfway to the next binade rounds to inf
        QCOMPARE(f32_to_f16(1e10f), uint16_t(0x7C00));
        QCOMPARE(f32_to_f16(-std::numeric_limits<float>::infinity()), uint16_t(0xFC00));
        QCOMPARE(f32_to_f16(1e-10f), uint16_t(0));        // underflows to +0
        QCOMPARE(f32_to_f16(-1e-10f), uint16_t(0x8000));  // and keeps the sign
        QCOMPARE(f32_to_f16(2.9802322e-08f), uint16_t(0));       // exactly half the smallest subnormal: to even (0)
        QCOMPARE(f32_to_f16(2.9802326e-08f), uint16_t(1));       // just above it
        QCOMPARE(f32_to_f16(6.097555e-05f), uint16_t(0x03FF));   // largest subnormal
        QCOMPARE(f32_to_f16(6.1035156e-05f), uint16_t(0x0400));  // smallest normal
    }

    void bf16ConversionsExhaustive() {
        for (uint32_t h = 0; h < 65536; ++h) {
            const float f = bf16_to_f32(static_cast<uint16_t>(h));
            if (std::isnan(f)) {
                QVERIFY(std::isnan(bf16_to_f32(f32_to_bf16(f))));
                continue;
            }
            if (f32_to_bf16(f) != h) QFAIL(qPrintable(QString("bf16 0x%1 does not round-trip").arg(h, 0, 16)));
        }
        for (uint32_t h = 0; h < 0x7f80; h += 7) {
            const uint32_t mid_bits = (h << 16) | 0x8000u;  // exactly between h and h+1
            float mid;
            std::memcpy(&mid, &mid_bits, 4);
            const uint16_t even = (h & 1) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h);
            QCOMPARE(f32_to_bf16(mid), even);
            QCOMPARE(f32_to_bf16(std::nextafter(mid, std::numeric_limits<float>::infinity())), static_cast<uint16_t>(h + 1));
        }
        QCOMPARE(f32_to_bf16(1.f), uint16_t(0x3F80));
        QCOMPARE(f32_to_bf16(std::numeric_limits<float>::max()), uint16_t(0x7F80));  // rounds up to inf
        QVERIFY(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
        // A NaN whose payload sits only in the low bits must not collapse to inf.
        uint32_t low_nan = 0x7f800001u;
        float ln;
        std::memcpy(&ln, &low_nan, 4);
        QVERIFY(std::isnan(bf16_to_f32(f32_to_bf16(ln))));
    }

    void shardedFolder() {
        const std::string d = path("hf-sharded");
        fs::create_directories(d);
        write_text(d + "/config.json", R"({"model_type":"llama","hidden_size":8})");
        write_text(d + "/tokenizer.json", R"({"model":{"type":"BPE"}})");
        std::vector<float> x(16);
        for (size_t k = 0; k < x.size(); ++k) x[k] = float(k);
        SafetensorsWriter s1, s2;
        s1.add_f32("model.embed_tokens.weight", {2, 8}, x.data());
        s1.add_bf16_from_f32("model.layers.0.self_attn.q_proj.weight", {2, 8}, x.data());
        s2.add_f16_from_f32("model.layers.1.self_attn.q_proj.weight", {4, 4}, x.data());
        s2.add_f32("model.norm.weight", {8}, x.data());
        s1.write(d + "/model-00001-of-00002.safetensors");
        s2.write(d + "/model-00002-of-00002.safetensors");
        json idx = {{"metadata", {{"total_size", 200}}},
                    {"weight_map",
                     {{"model.embed_tokens.weight", "model-00001-of-00002.safetensors"},
                      {"model.layers.0.self_attn.q_proj.weight", "model-00001-of-00002.safetensors"},
                      {"model.layers.1.self_attn.q_proj.weight", "model-00002-of-00002.safetensors"},
                      {"model.norm.weight", "model-00002-of-00002.safetensors"}}}};
        write_text(d + "/model.safetensors.index.json", idx.dump(2));

        HfFolder f = open_hf_folder(d);
        QCOMPARE(f.dir, d);
        QCOMPARE(f.shards.size(), size_t(2));
        QCOMPARE(f.tensors.size(), size_t(4));
        QVERIFY(f.config_json.find("llama") != std::string::npos);
        QVERIFY(f.tokenizer_json.find("BPE") != std::string::npos);
        QVERIFY(f.tokenizer_config_json.empty());
        const StTensor* q1 = f.find("model.layers.1.self_attn.q_proj.weight");
        QVERIFY(q1);
        QCOMPARE(q1->dtype, StDType::F16);
        QCOMPARE(st_to_f32(*q1, f.file_of(q1->name)), x);
        QVERIFY(f.file_of("model.norm.weight").find("model-00002-of-00002") != std::string::npos);
        QVERIFY(f.file_of("model.embed_tokens.weight").find("model-00001-of-00002") != std::string::npos);
        QCOMPARE(f.file_of("absent"), std::string());
        QVERIFY(f.find("absent") == nullptr);
        QCOMPARE(st_to_f32(*f.find("model.norm.weight"), "")[7], 7.f);

        // The folder stays usable after being moved around (tensor pointers point into the shards).
        HfFolder moved = std::move(f);
        QCOMPARE(st_to_f32(*moved.find("model.embed_tokens.weight"), "")[15], 15.f);

        // Index naming a tensor its shard lacks, a missing shard, and a shard path outside the folder.
        idx["weight_map"]["model.ghost.weight"] = "model-00002-of-00002.safetensors";
        write_text(d + "/model.safetensors.index.json", idx.dump());
        expect_error([&] { open_hf_folder(d); }, {"model.safetensors.index.json", "model.ghost.weight"});
        idx["weight_map"]["model.ghost.weight"] = "model-00003-of-00002.safetensors";
        write_text(d + "/model.safetensors.index.json", idx.dump());
        expect_error([&] { open_hf_folder(d); }, {"model-00003-of-00002.safetensors", "missing"});
        idx["weight_map"]["model.ghost.weight"] = "../elsewhere.safetensors";
        write_text(d + "/model.safetensors.index.json", idx.dump());
        expect_error([&] { open_hf_folder(d); }, {"model.safetensors.index.json", "../elsewhere.safetensors"});
        write_text(d + "/model.safetensors.index.json", "{\"weight_map\": [");
        expect_error([&] { open_hf_folder(d); }, {"model.safetensors.index.json", "JSON"});
    }

    void singleFileFolder() {
        const std::string d = path("hf-single");
        fs::create_directories(d);
        std::vector<float> x = {1, 2, 3, 4};
        SafetensorsWriter w;
        w.add_f32("lm_head.weight", {2, 2}, x.data());
        w.write(d + "/model.safetensors");
        // config.json is required and named in the error.
        expect_error([&] { open_hf_folder(d); }, {d + "/config.json", "missing"});
        write_text(d + "/config.json", "{}");
        write_text(d + "/tokenizer_config.json", R"({"bos_token":"<s>"})");
        HfFolder f = open_hf_folder(d);
        QCOMPARE(f.shards.size(), size_t(1));
        QCOMPARE(f.tensors.size(), size_t(1));
        QVERIFY(f.tokenizer_json.empty());
        QVERIFY(f.tokenizer_config_json.find("bos_token") != std::string::npos);
        QCOMPARE(f.file_of("lm_head.weight"), d + "/model.safetensors");

        fs::remove(d + "/model.safetensors");
        expect_error([&] { open_hf_folder(d); }, {d, "model.safetensors"});
        expect_error([&] { open_hf_folder(d + "/nonexistent"); }, {d + "/nonexistent", "not a directory"});
    }

    void corruptHeaders() {
        const std::string p = path("bad.safetensors");
        auto check = [&](const std::string& header, const std::vector<uint8_t>& data, std::vector<std::string> want) {
            write_bytes(p, raw_file(header, data));
            want.insert(want.begin(), p);
            expect_error([&] { SafetensorsFile f(p); }, want);
        };
        const std::vector<uint8_t> d16(16, 0);
        check("{\"a\": {\"dtype\": \"F32\", ", d16, {"JSON"});
        check("[1, 2]", d16, {"not an object"});
        check(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})", d16, {"'a'", "F64"});
        check(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", d16, {"'a'", "12 bytes"});
        check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,32]}})", d16, {"'a'", "past the end"});
        check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d16, {"'a'", "reversed"});
        check(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d16, {"'a'", "shape"});
        check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d16, {"'a'", "data_offsets"});
        check(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", d16, {"'a'", "overflow"});
        check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
              d16, {"overlap"});
        check(R"({"__metadata__":{"k":1}})", d16, {"__metadata__"});

        // A header length beyond the file, and an absurd one.
        auto b = raw_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", {7});
        uint64_t big = 1000;
        std::memcpy(b.data(), &big, 8);
        write_bytes(p, b);
        expect_error([&] { SafetensorsFile f(p); }, {p, "truncated"});
        big = uint64_t(1) << 60;
        std::memcpy(b.data(), &big, 8);
        write_bytes(p, b);
        expect_error([&] { SafetensorsFile f(p); }, {p, "header length"});
        write_bytes(p, {1, 2, 3});
        expect_error([&] { SafetensorsFile f(p); }, {p, "truncated"});
    }

    void truncatedData() {
        std::vector<float> x(40, 0.5f);
        SafetensorsWriter w;
        w.add_f32("x", {40}, x.data());
        w.add_bf16_from_f32("y", {4, 10}, x.data());
        const std::string p = path("full.safetensors");
        w.write(p);
        const auto bytes = read_bytes(p);
        SafetensorsFile ok(p);
        // The last tensor ends at EOF, so every strict prefix must be rejected.
        const std::string cut = path("cut.safetensors");
        for (size_t n = 1; n < bytes.size(); ++n) {
            write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(n)));
            bool threw = false;
            try {
                SafetensorsFile f(cut);
            } catch (const Error& e) {
                threw = true;
                QVERIFY2(std::string(e.what()).find(cut) != std::string::npos, e.what());
            }
            if (!threw) QFAIL(qPrintable(QString("prefix of %1 bytes was accepted").arg(n)));
        }
        write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.end() - 1));
        expect_error([&] { SafetensorsFile f(cut); }, {cut, "'y'", "past the end"});
    }

    void writerRejectsBadInput() {
        SafetensorsWriter w;
        std::vector<float> x(6);
        expect_error([&] { w.add("a", StDType::F32, {2, 3}, x.data(), 20); }, {"'a'", "20 bytes"});
        expect_error([&] { w.add("__metadata__", StDType::F32, {1}, x.data(), 4); }, {"__metadata__"});
        w.add_f32("a", {2, 3}, x.data());
        expect_error([&] { w.add_f32("a", {2, 3}, x.data()); }, {"'a'", "twice"});
        QCOMPARE(std::string(st_dtype_name(StDType::BF16)), std::string("BF16"));
        QCOMPARE(st_dtype_size(StDType::I64), size_t(8));
    }

    void unwritableOutput() {
        std::vector<float> x(16, 1.f);
        SafetensorsWriter w;
        w.add_f32("x", {16}, x.data());
        for (const std::string& p : {dir_ + "/missing/dir/out.safetensors", std::string("/proc/anyprec-test.safetensors")}) {
            expect_error([&] { w.write(p); }, {p});
            QVERIFY(!fs::exists(p + ".tmp"));
            QVERIFY(!fs::exists(p));
        }
    }

    // A write that fails part-way (as on a full disk) must throw, remove the
    // temporary file and leave an existing file at the destination untouched.
    void failureMidWrite() {
        const std::string p = path("big.safetensors");
        write_text(p, "previous contents");
        std::vector<float> x(64 * 1024, 2.f);  // 256 KiB of data
        SafetensorsWriter w;
        w.add_f32("x", {64 * 1024}, x.data());

        // RLIMIT_FSIZE makes write() fail with EFBIG past the limit, like ENOSPC does on a full disk.
        struct rlimit old {};
        QVERIFY(getrlimit(RLIMIT_FSIZE, &old) == 0);
        auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = old;
        lim.rlim_cur = 64 * 1024;
        QVERIFY(setrlimit(RLIMIT_FSIZE, &lim) == 0);
        std::string msg;
        try {
            w.write(p);
        } catch (const Error& e) {
            msg = e.what();
        }
        setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);

        QVERIFY2(!msg.empty(), "write past the file size limit did not throw");
        QVERIFY2(msg.find(p) != std::string::npos, msg.c_str());
        QVERIFY2(msg.find("write failed") != std::string::npos, msg.c_str());
        QVERIFY(!fs::exists(p + ".tmp"));
        std::ifstream in(p);
        std::string kept;
        std::getline(in, kept);
        QCOMPARE(kept, std::string("previous contents"));

        w.write(p);  // with the limit lifted the same write succeeds and replaces it
        QCOMPARE(st_to_f32(*SafetensorsFile(p).find("x"), p)[12345], 2.f);
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
