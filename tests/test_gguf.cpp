// GGUF reader/writer: metadata of every type, tensors of every supported type,
// v2 files, custom alignment, hand-built ggml blocks, and corrupt files.
#include "error.h"
#include "gguf.h"
#include "safetensors.h"
#include "test_util.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using namespace ap;

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Expects GgufFile(path) to throw ap::Error whose message names the file and
// contains every fragment in `want`.
#define EXPECT_GGUF_ERROR(path, ...)                                                                    \
    do {                                                                                                \
        bool threw_ = false;                                                                            \
        try {                                                                                           \
            GgufFile f_(path);                                                                          \
        } catch (const ap::Error& e_) {                                                                 \
            threw_ = true;                                                                              \
            const std::string m_ = e_.what();                                                           \
            QVERIFY2(m_.find(path) != std::string::npos, m_.c_str());                                   \
            for (const std::string& w_ : std::vector<std::string>{__VA_ARGS__})                        \
                QVERIFY2(m_.find(w_) != std::string::npos, (m_ + "  [missing: " + w_ + "]").c_str());   \
        }                                                                                               \
        QVERIFY2(threw_, "expected ap::Error");                                                         \
    } while (0)

GgufValue scalar(GgufValueType t) {
    GgufValue v;
    v.type = t;
    return v;
}

size_t find_bytes(const std::vector<uint8_t>& hay, const std::string& needle) {
    auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
    return it == hay.end() ? std::string::npos : static_cast<size_t>(it - hay.begin());
}

template <class T>
void poke(std::vector<uint8_t>& b, size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof v);
}

std::vector<float> dequant(const GgufTensor& t) {
    std::vector<float> out(static_cast<size_t>(t.n_elements()));
    dequantize_row(t.type, t.data, out.data(), t.n_elements());
    return out;
}

// Little-endian builder for hand-written files (v2 and corrupt variants).
struct Raw {
    std::vector<uint8_t> b;
    template <class T>
    void put(T v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        b.insert(b.end(), p, p + sizeof v);
    }
    void str(const std::string& s) {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
    }
};

}  // namespace

class TestGguf : public QObject {
    Q_OBJECT
    std::string dir_;
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    // A small valid file with metadata and two tensors, used by the corruption tests.
    std::string write_small(const std::string& name) {
        GgufWriter w;
        w.set_string("general.architecture", "llama");
        w.set_string_array("tokenizer.ggml.tokens", {"a", "bb", "ccc"});
        w.set_u32("llama.block_count", 2);
        std::vector<float> x(64);
        for (size_t k = 0; k < x.size(); ++k) x[k] = 0.25f * static_cast<float>(k) - 3.f;
        w.add_tensor("first.weight", GgmlType::F32, {8, 2}, x.data());
        w.add_tensor("second.weight", GgmlType::Q8_0, {32, 2}, x.data());
        const std::string p = path(name);
        w.write(p);
        return p;
    }

private slots:
    void initTestCase() {
        dir_ = aptest::temp_dir() + "/gguf";
        std::filesystem::create_directories(dir_);
    }
    void cleanupTestCase() { std::filesystem::remove_all(dir_); }

    void metadataEveryType() {
        GgufWriter w;
        auto set = [&](const std::string& k, GgufValueType t, auto fill) {
            GgufValue v = scalar(t);
            fill(v);
            w.set_value(k, v);
        };
        set("t.u8", GgufValueType::UINT8, [](GgufValue& v) { v.u = 250; });
        set("t.i8", GgufValueType::INT8, [](GgufValue& v) { v.i = -120; });
        set("t.u16", GgufValueType::UINT16, [](GgufValue& v) { v.u = 65000; });
        set("t.i16", GgufValueType::INT16, [](GgufValue& v) { v.i = -32000; });
        set("t.u64", GgufValueType::UINT64, [](GgufValue& v) { v.u = 0xFEDCBA9876543210ull; });
        set("t.i64", GgufValueType::INT64, [](GgufValue& v) { v.i = -(int64_t(1) << 60); });
        set("t.f64", GgufValueType::FLOAT64, [](GgufValue& v) { v.f = 3.141592653589793; });
        w.set_u32("t.u32", 4000000000u);
        w.set_i32("t.i32", -2000000000);
        w.set_f32("t.f32", 0.1f);
        w.set_bool("t.true", true);
        w.set_bool("t.false", false);
        w.set_string("t.str", "héllo\nworld");
        w.set_string("t.empty", "");
        w.set_string_array("t.strs", {"<s>", "", "Ġthe", std::string("nul\0byte", 8)});
        w.set_f32_array("t.f32s", {1.5f, -2.25f, 1e-30f});
        w.set_i32_array("t.i32s", {-1, 0, 2147483647});
        w.set_i32_array("t.noints", {});
        // Array of arrays of uint16, and an array of bools.
        GgufValue outer;
        outer.type = GgufValueType::ARRAY;
        outer.elem_type = GgufValueType::ARRAY;
        for (int r = 0; r < 3; ++r) {
            GgufValue inner;
            inner.type = GgufValueType::ARRAY;
            inner.elem_type = GgufValueType::UINT16;
            for (int c = 0; c <= r; ++c) {
                GgufValue e = scalar(GgufValueType::UINT16);
                e.u = static_cast<uint64_t>(100 * r + c);
                inner.arr.push_back(e);
            }
            outer.arr.push_back(inner);
        }
        w.set_value("t.nested", outer);
        GgufValue bools;
        bools.type = GgufValueType::ARRAY;
        bools.elem_type = GgufValueType::BOOL;
        for (bool b : {true, false, true}) {
            GgufValue e = scalar(GgufValueType::BOOL);
            e.b = b;
            bools.arr.push_back(e);
        }
        w.set_value("t.bools", bools);
        w.set_u32("t.replaced", 1);
        w.set_u32("t.replaced", 2);  // setting a key again replaces it

        const std::string p = path("meta.gguf");
        w.write(p);
        QVERIFY(!std::filesystem::exists(p + ".tmp"));
        GgufFile f(p);
        QCOMPARE(f.version(), 3u);
        QCOMPARE(f.alignment(), 32u);
        QCOMPARE(f.metadata().size(), size_t(21));
        QVERIFY(f.tensors().empty());

        QCOMPARE(f.find("t.u8")->type, GgufValueType::UINT8);
        QCOMPARE(f.find("t.u8")->u, uint64_t(250));
        QCOMPARE(f.find("t.i8")->i, int64_t(-120));
        QCOMPARE(f.find("t.u16")->u, uint64_t(65000));
        QCOMPARE(f.find("t.i16")->i, int64_t(-32000));
        QCOMPARE(f.find("t.u32")->type, GgufValueType::UINT32);
        QCOMPARE(f.find("t.u32")->u, uint64_t(4000000000u));
        QCOMPARE(f.find("t.i32")->i, int64_t(-2000000000));
        QCOMPARE(f.find("t.u64")->u, uint64_t(0xFEDCBA9876543210ull));
        QCOMPARE(f.find("t.i64")->i, -(int64_t(1) << 60));
        QCOMPARE(f.find("t.f32")->type, GgufValueType::FLOAT32);
        QCOMPARE(f.find("t.f32")->f, double(0.1f));
        QCOMPARE(f.find("t.f64")->f, 3.141592653589793);
        QCOMPARE(f.find("t.true")->b, true);
        QCOMPARE(f.find("t.false")->b, false);
        QCOMPARE(f.get_string("t.str"), std::string("héllo\nworld"));
        QCOMPARE(f.get_string("t.empty", "x"), std::string());
        QCOMPARE(f.get_string("absent", "dflt"), std::string("dflt"));
        QCOMPARE(f.get_int("t.replaced", 0), int64_t(2));

        auto strs = f.get_string_array("t.strs");
        QCOMPARE(strs.size(), size_t(4));
        QCOMPARE(strs[2], std::string("Ġthe"));
        QCOMPARE(strs[3], std::string("nul\0byte", 8));
        QCOMPARE(strs[1], std::string());
        QVERIFY(f.get_string_array("absent").empty());

        const GgufValue* fa = f.find("t.f32s");
        QCOMPARE(fa->elem_type, GgufValueType::FLOAT32);
        QCOMPARE(fa->size(), size_t(3));
        QCOMPARE(fa->element(1).f, -2.25);
        QCOMPARE(fa->element(2).f, double(1e-30f));
        const GgufValue* ia = f.find("t.i32s");
        QCOMPARE(ia->element(0).i, int64_t(-1));
        QCOMPARE(ia->element(2).i, int64_t(2147483647));
        QCOMPARE(f.find("t.noints")->size(), size_t(0));
        QCOMPARE(f.find("t.noints")->elem_type, GgufValueType::INT32);

        const GgufValue* n = f.find("t.nested");
        QCOMPARE(n->elem_type, GgufValueType::ARRAY);
        QCOMPARE(n->size(), size_t(3));
        QCOMPARE(n->element(2).elem_type, GgufValueType::UINT16);
        QCOMPARE(n->element(2).size(), size_t(3));
        QCOMPARE(n->element(2).element(1).u, uint64_t(201));
        const GgufValue* b = f.find("t.bools");
        QCOMPARE(b->size(), size_t(3));
        QVERIFY(b->element(0).b && !b->element(1).b && b->element(2).b);

        // Typed accessors convert any numeric kind and refuse the rest, naming file and key.
        QCOMPARE(f.get_int("t.i8", 0), int64_t(-120));
        QCOMPARE(f.get_int("t.true", 0), int64_t(1));
        QCOMPARE(f.get_int("t.f64", 0), int64_t(3));
        QCOMPARE(f.get_float("t.u16", 0), 65000.0);
        QCOMPARE(f.get_float("absent", 7.5), 7.5);
        QCOMPARE(f.get_int("absent", -4), int64_t(-4));
        for (const char* k : {"t.str", "t.u64", "t.strs"}) {
            try {
                f.get_int(k, 0);
                QFAIL(k);
            } catch (const Error& e) {
                QVERIFY2(std::string(e.what()).find(p) != std::string::npos, e.what());
                QVERIFY2(std::string(e.what()).find(k) != std::string::npos, e.what());
            }
        }
        QVERIFY_THROWS_EXCEPTION(Error, f.get_string("t.u8"));
        QVERIFY_THROWS_EXCEPTION(Error, f.get_string_array("t.f32s"));
        QVERIFY_THROWS_EXCEPTION(Error, f.get_float("t.nested", 0));
        QCOMPARE(f.find("t.u64")->as_double(), double(0xFEDCBA9876543210ull));
    }

    void tensorsEveryType() {
        std::mt19937 rng(1234);
        std::normal_distribution<float> nd(0.f, 1.f);
        const int64_t cols = 96, rows = 5, n = cols * rows;
        std::vector<float> x(static_cast<size_t>(n));
        for (float& v : x) v = nd(rng);
        x[7] = 0;
        x[40] = 4.5f;  // an outlier inside one block

        const GgmlType types[] = {GgmlType::F32, GgmlType::F16, GgmlType::BF16,
                                  GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1};
        GgufWriter w;
        w.set_string("general.architecture", "test");
        for (GgmlType t : types) w.add_tensor(std::string("w.") + ggml_type_name(t), t, {cols, rows}, x.data());
        // A tensor whose size is not a multiple of the alignment, followed by another.
        std::vector<float> odd = {1, 2, 3, 4, 5};
        w.add_tensor("odd", GgmlType::F32, {5}, odd.data());
        std::vector<float> cube(2 * 3 * 4 * 32);
        for (size_t k = 0; k < cube.size(); ++k) cube[k] = float(k) - 300.f;
        w.add_tensor("cube", GgmlType::F32, {32, 4, 3, 2}, cube.data());
        const std::string p = path("tensors.gguf");
        w.write(p);

        GgufFile f(p);
        QCOMPARE(f.tensors().size(), size_t(8));
        for (GgmlType t : types) {
            const GgufTensor* g = f.find_tensor(std::string("w.") + ggml_type_name(t));
            QVERIFY(g);
            QCOMPARE(g->type, t);
            QCOMPARE(g->shape, (std::vector<int64_t>{cols, rows}));
            QCOMPARE(g->n_elements(), n);
            QCOMPARE(g->nbytes, ggml_type_size(t, n));
            QCOMPARE(g->offset % 32, uint64_t(0));
            std::vector<float> y = dequant(*g);
            for (int64_t b = 0; b < n / 32; ++b) {
                float lo = x[b * 32], hi = x[b * 32], amax = 0;
                for (int j = 0; j < 32; ++j) {
                    lo = std::min(lo, x[b * 32 + j]);
                    hi = std::max(hi, x[b * 32 + j]);
                    amax = std::max(amax, std::fabs(x[b * 32 + j]));
                }
                for (int j = 0; j < 32; ++j) {
                    const size_t k = static_cast<size_t>(b * 32 + j);
                    const float ax = std::fabs(x[k]), err = std::fabs(y[k] - x[k]);
                    float tol = 0;
                    switch (t) {
                        case GgmlType::F32: tol = 0; break;
                        case GgmlType::F16: tol = ax * 0x1p-11f + 0x1p-25f; break;
                        case GgmlType::BF16: tol = ax * 0x1p-8f; break;
                        // Half a step, plus the fp16 rounding of the scale applied to the largest code.
                        case GgmlType::Q8_0: tol = amax / 127.f * 0.5f + amax * 0x1p-10f; break;
                        // The signed extreme maps to -8, so the opposite side can be clamped by a full step.
                        case GgmlType::Q4_0: tol = amax / 8.f + amax * 0x1p-9f; break;
                        case GgmlType::Q4_1: tol = (hi - lo) / 15.f * 0.5f + (std::fabs(lo) + (hi - lo)) * 0x1p-9f; break;
                        default: QFAIL("no reference quantizer for this type");
                    }
                    if (err > tol)
                        QFAIL(qPrintable(QString("%1 element %2: %3 vs %4 (tol %5)")
                                             .arg(ggml_type_name(t)).arg(k).arg(y[k]).arg(x[k]).arg(tol)));
                }
            }
        }
        QCOMPARE(dequant(*f.find_tensor("odd")), odd);
        QCOMPARE(dequant(*f.find_tensor("cube")), cube);
        QCOMPARE(f.find_tensor("cube")->shape, (std::vector<int64_t>{32, 4, 3, 2}));
        QVERIFY(f.find_tensor("missing") == nullptr);
    }

    // Values on the quantization grid must survive exactly, which pins down
    // the nibble order and the formulas x = d*q, d*(q-8), d*q + m.
    void exactGridValues() {
        std::vector<float> q8(64), q40(64), q41(64);
        for (int k = 0; k < 64; ++k) {
            q8[k] = static_cast<float>((k * 37) % 255 - 127);         // d = 1 (amax 127 appears)
            q40[k] = 0.5f * static_cast<float>((k * 5) % 16 - 8);     // d = 0.5, extreme -4
            q41[k] = -1.f + 0.25f * static_cast<float>((k * 7) % 16); // m = -1, d = 0.25
        }
        q8[0] = -127;
        q8[32] = 127;
        q40[0] = q40[32] = -4.f;
        q41[0] = q41[32] = -1.f;
        q41[1] = q41[33] = 2.75f;
        QCOMPARE(dequant_exact(GgmlType::Q8_0, q8), q8);
        QCOMPARE(dequant_exact(GgmlType::Q4_0, q40), q40);
        QCOMPARE(dequant_exact(GgmlType::Q4_1, q41), q41);
    }

    void handLaidOutBlocks() {
        // Q8_0: fp16 d = 0.5 (0x3800), then 32 int8.
        std::vector<uint8_t> b(34);
        poke<uint16_t>(b, 0, 0x3800);
        for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
        std::vector<float> y(32);
        dequantize_row(GgmlType::Q8_0, b.data(), y.data(), 32);
        for (int j = 0; j < 32; ++j) QCOMPARE(y[j], 0.5f * (j - 16));

        // Q4_0: d = 2 (0x4000); byte j: low nibble is element j, high nibble element j+16.
        b.assign(18, 0);
        poke<uint16_t>(b, 0, 0x4000);
        for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
        dequantize_row(GgmlType::Q4_0, b.data(), y.data(), 32);
        for (int j = 0; j < 16; ++j) {
            QCOMPARE(y[j], 2.f * (j - 8));
            QCOMPARE(y[j + 16], 2.f * ((15 - j) - 8));
        }

        // Q4_1: d = 1 (0x3C00), m = -1 (0xBC00), then the same nibble layout.
        b.assign(20, 0);
        poke<uint16_t>(b, 0, 0x3C00);
        poke<uint16_t>(b, 2, 0xBC00);
        for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(((j * 3) & 15) | (j << 4));
        dequantize_row(GgmlType::Q4_1, b.data(), y.data(), 32);
        for (int j = 0; j < 16; ++j) {
            QCOMPARE(y[j], float((j * 3) & 15) - 1.f);
            QCOMPARE(y[j + 16], float(j) - 1.f);
        }

        // The reference quantizer must produce those very bytes back.
        auto again = quantize_to(GgmlType::Q4_1, y.data(), 32);
        QCOMPARE(again, b);

        // Block-size rules.
        QCOMPARE(ggml_block_size(GgmlType::Q4_1), 32);
        QCOMPARE(ggml_type_size(GgmlType::Q4_0, 64), size_t(36));
        QCOMPARE(ggml_type_size(GgmlType::Q4_1, 64), size_t(40));
        QCOMPARE(ggml_type_size(GgmlType::Q8_0, 64), size_t(68));
        QCOMPARE(ggml_type_size(GgmlType::BF16, 3), size_t(6));
        QVERIFY_THROWS_EXCEPTION(Error, ggml_type_size(GgmlType::Q8_0, 33));
        QVERIFY_THROWS_EXCEPTION(Error, dequantize_row(GgmlType::Q4_0, b.data(), y.data(), 16));
        QVERIFY_THROWS_EXCEPTION(Error, quantize_to(GgmlType::Q4_1, y.data(), 31));
        QCOMPARE(std::string(ggml_type_name(GgmlType::BF16)), std::string("BF16"));
    }

    void customAlignment() {
        for (uint32_t al : {8u, 64u, 256u}) {
            GgufWriter w;
            std::vector<float> a = {1, 2, 3}, b(32, 0.75f), c = {-9};
            w.add_tensor("a", GgmlType::F32, {3}, a.data());
            w.add_tensor("b", GgmlType::F16, {32}, b.data());
            w.add_tensor("c", GgmlType::F32, {1}, c.data());
            const std::string p = path("align" + std::to_string(al) + ".gguf");
            w.write(p, al);
            GgufFile f(p);
            QCOMPARE(f.alignment(), al);
            QCOMPARE(f.get_int("general.alignment", 0), int64_t(al));
            for (const auto& t : f.tensors()) QCOMPARE(t.offset % al, uint64_t(0));
            QCOMPARE(f.find_tensor("b")->offset, uint64_t((12 + al - 1) / al * al));
            QCOMPARE(dequant(*f.find_tensor("a")), a);
            QCOMPARE(dequant(*f.find_tensor("b")), b);
            QCOMPARE(dequant(*f.find_tensor("c")), c);
            // The data section itself starts on an alignment boundary of the file.
            auto bytes = read_bytes(p);
            const size_t data_end = bytes.size() - 4;  // c is the last tensor
            float last;
            std::memcpy(&last, bytes.data() + data_end, 4);
            QCOMPARE(last, -9.f);
            QCOMPARE((data_end - f.find_tensor("c")->offset) % al, size_t(0));
        }
        GgufWriter w;
        QVERIFY_THROWS_EXCEPTION(Error, w.write(path("bad-align.gguf"), 48));
        QVERIFY(!std::filesystem::exists(path("bad-align.gguf")));
    }

    void versionTwoByHand() {
        Raw r;
        r.put<uint32_t>(0x46554747);
        r.put<uint32_t>(2);
        r.put<uint64_t>(1);  // tensors
        r.put<uint64_t>(2);  // kv
        r.str("general.architecture");
        r.put<uint32_t>(8);
        r.str("llama");
        r.str("v2.list");
        r.put<uint32_t>(9);
        r.put<uint32_t>(5);  // int32 elements
        r.put<uint64_t>(2);
        r.put<int32_t>(-7);
        r.put<int32_t>(9);
        r.str("tiny");
        r.put<uint32_t>(1);
        r.put<uint64_t>(4);
        r.put<uint32_t>(0);  // F32
        r.put<uint64_t>(0);
        r.b.resize((r.b.size() + 31) / 32 * 32, 0);
        for (float v : {0.5f, -1.f, 2.f, 8.f}) r.put<float>(v);
        const std::string p = path("v2.gguf");
        write_bytes(p, r.b);

        GgufFile f(p);
        QCOMPARE(f.version(), 2u);
        QCOMPARE(f.get_string("general.architecture"), std::string("llama"));
        QCOMPARE(f.find("v2.list")->element(0).i, int64_t(-7));
        QCOMPARE(dequant(*f.find_tensor("tiny")), (std::vector<float>{0.5f, -1.f, 2.f, 8.f}));

        // Version 1 and unknown versions are refused by name.
        auto v1 = r.b;
        poke<uint32_t>(v1, 4, 1);
        write_bytes(path("v1.gguf"), v1);
        EXPECT_GGUF_ERROR(path("v1.gguf"), "version 1");
        poke<uint32_t>(v1, 4, 7);
        write_bytes(path("v7.gguf"), v1);
        EXPECT_GGUF_ERROR(path("v7.gguf"), "version 7");
        poke<uint32_t>(v1, 4, 0x03000000);
        write_bytes(path("vbe.gguf"), v1);
        EXPECT_GGUF_ERROR(path("vbe.gguf"), "big-endian");
    }

    void truncatedEverywhere() {
        const std::string p = write_small("full.gguf");
        const auto bytes = read_bytes(p);
        GgufFile ok(p);  // the untruncated file is fine
        // The last tensor ends at EOF, so every strict prefix is missing something.
        const std::string cut = path("cut.gguf");
        for (size_t n = 1; n < bytes.size(); ++n) {
            write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(n)));
            bool threw = false;
            try {
                GgufFile f(cut);
            } catch (const Error& e) {
                threw = true;
                QVERIFY2(std::string(e.what()).find(cut) != std::string::npos, e.what());
            }
            if (!threw) QFAIL(qPrintable(QString("prefix of %1 bytes was accepted").arg(n)));
        }
        // A few representative messages: in the header, in a string, in the data.
        auto cut_at = [&](size_t n) {
            write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(n)));
        };
        cut_at(6);
        EXPECT_GGUF_ERROR(cut, "truncated", "version");
        cut_at(24 + 8 + 5);  // inside the first key
        EXPECT_GGUF_ERROR(cut, "truncated");
        cut_at(bytes.size() - 10);
        EXPECT_GGUF_ERROR(cut, "second.weight", "past the end");
        write_bytes(cut, {});
        EXPECT_GGUF_ERROR(cut, "empty");
    }

    void corruptHeaders() {
        const std::string p = write_small("base.gguf");
        const auto base = read_bytes(p);
        const std::string bad = path("bad.gguf");

        auto b = base;
        std::memcpy(b.data(), "GGML", 4);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "not a GGUF file", "GGML");

        // Tensor info of "second.weight": name, n_dims, dims[2], type, offset.
        const size_t name_at = find_bytes(base, "second.weight");
        QVERIFY(name_at != std::string::npos);
        const size_t ndims_at = name_at + 13, dims_at = ndims_at + 4, type_at = dims_at + 16, off_at = type_at + 4;

        b = base;
        poke<uint32_t>(b, type_at, 12);  // Q4_K loads, but its 256-weight blocks do not fit a 32-weight row
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "second.weight", "row length 32", "Q4_K block size 256");
        poke<uint32_t>(b, type_at, 16);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "second.weight", "type 16", "IQ2_XXS", "not supported");
        poke<uint32_t>(b, type_at, 4242);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "second.weight", "4242");

        b = base;
        poke<uint64_t>(b, off_at, 1u << 20);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "second.weight", "past the end");
        poke<uint64_t>(b, off_at, ~uint64_t(0) - 31);  // offset + size would wrap around
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "second.weight");
        poke<uint64_t>(b, off_at, 0);  // on top of first.weight
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "overlap");
        poke<uint64_t>(b, off_at, 72);  // not aligned
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "alignment");

        b = base;
        poke<uint32_t>(b, ndims_at, 5);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "second.weight", "5 dimensions");

        b = base;
        poke<uint64_t>(b, dims_at, uint64_t(1) << 40);
        poke<uint64_t>(b, dims_at + 8, uint64_t(1) << 40);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "second.weight", "overflow");
        poke<uint64_t>(b, dims_at, 33);  // not a multiple of the Q8_0 block
        poke<uint64_t>(b, dims_at + 8, 2);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "second.weight", "block size");

        // Absurd counts are refused before anything is allocated.
        b = base;
        poke<uint64_t>(b, 8, uint64_t(1) << 50);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "tensor count");
        b = base;
        poke<uint64_t>(b, 16, uint64_t(1) << 50);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "metadata count");
        const size_t arr_at = find_bytes(base, "tokenizer.ggml.tokens") + 21;  // type, elem type, count
        b = base;
        QCOMPARE(b[arr_at], uint8_t(9));
        poke<uint64_t>(b, arr_at + 8, uint64_t(1) << 40);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "tokenizer.ggml.tokens", "array");
        b = base;
        poke<uint64_t>(b, arr_at + 16, uint64_t(1) << 62);  // length of the first string
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "tokenizer.ggml.tokens");
        b = base;
        poke<uint32_t>(b, arr_at, 77);  // unknown value type
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "tokenizer.ggml.tokens", "77");

        // Bad alignment value in the metadata.
        GgufWriter w;
        w.set_u32("general.alignment", 48);
        w.write(bad);  // the writer's own alignment (32) wins over the key
        QCOMPARE(GgufFile(bad).alignment(), 32u);
        b = read_bytes(bad);
        const size_t al_at = find_bytes(b, "general.alignment") + 17 + 4;
        poke<uint32_t>(b, al_at, 48);
        write_bytes(bad, b);
        EXPECT_GGUF_ERROR(bad, "general.alignment", "48");
    }

    // Random byte damage in the header must give either a valid parse or an ap::Error, never a crash.
    void randomCorruption() {
        const std::string p = write_small("fuzz-base.gguf");
        const auto base = read_bytes(p);
        const size_t header_end = find_bytes(base, "second.weight") + 13 + 4 + 16 + 4 + 8;
        std::mt19937 rng(99);
        const std::string bad = path("fuzz.gguf");
        int rejected = 0;
        for (int it = 0; it < 1500; ++it) {
            auto b = base;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k) b[rng() % header_end] = static_cast<uint8_t>(rng());
            write_bytes(bad, b);
            try {
                GgufFile f(bad);
                for (const auto& t : f.tensors()) {  // whatever was accepted must be readable in bounds
                    std::vector<float> y(static_cast<size_t>(std::min<int64_t>(t.n_elements(), 1 << 16)));
                    const int64_t blk = ggml_block_size(t.type);
                    dequantize_row(t.type, t.data, y.data(), static_cast<int64_t>(y.size()) / blk * blk);
                }
            } catch (const Error& e) {
                ++rejected;
                QVERIFY2(std::string(e.what()).find(bad) != std::string::npos, e.what());
            }
        }
        QVERIFY(rejected > 100);
    }

    void writerFailures() {
        GgufWriter w;
        std::vector<float> x(32, 1.f);
        QVERIFY_THROWS_EXCEPTION(Error, w.add_tensor("bad", GgmlType::Q4_0, {16, 2}, x.data()));
        QVERIFY_THROWS_EXCEPTION(Error, w.add_tensor("bad", GgmlType::F32, {1, 1, 1, 1, 1}, x.data()));
        w.add_tensor("t", GgmlType::F32, {32}, x.data());
        QVERIFY_THROWS_EXCEPTION(Error, w.add_tensor("t", GgmlType::F32, {32}, x.data()));
        const std::string p = dir_ + "/no/such/dir/x.gguf";
        try {
            w.write(p);
            QFAIL("write into a missing directory succeeded");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(p) != std::string::npos, e.what());
        }
        QVERIFY(!std::filesystem::exists(p + ".tmp"));
    }

    void realSmolLM2() {
        const std::string p = aptest::smollm_path();
        AP_REQUIRE_FILE(p);
        GgufFile f(p);
        QCOMPARE(f.version(), 3u);
        QCOMPARE(f.get_string("general.architecture"), std::string("llama"));
        QCOMPARE(f.get_int("llama.block_count", 0), int64_t(30));
        QCOMPARE(f.get_int("llama.embedding_length", 0), int64_t(576));
        QCOMPARE(f.get_int("llama.attention.head_count", 0), int64_t(9));
        QCOMPARE(f.get_int("llama.attention.head_count_kv", 0), int64_t(3));
        QCOMPARE(f.get_string_array("tokenizer.ggml.tokens").size(), size_t(49152));
        QCOMPARE(f.tensors().size(), size_t(2 + 30 * 9));
        const GgufTensor* emb = f.find_tensor("token_embd.weight");
        QVERIFY(emb);
        QCOMPARE(emb->shape, (std::vector<int64_t>{576, 49152}));
        for (int l = 0; l < 30; ++l) QVERIFY(f.find_tensor("blk." + std::to_string(l) + ".attn_q.weight"));
        const GgufTensor* q = f.find_tensor("blk.0.attn_q.weight");
        QCOMPARE(q->type, GgmlType::Q4_1);
        QCOMPARE(q->shape, (std::vector<int64_t>{576, 576}));
        // Rows dequantize to finite, plausibly scaled weights; norms are F32 near 1.
        for (const GgufTensor* t : {emb, q}) {
            std::vector<float> row(576);
            dequantize_row(t->type, t->data, row.data(), 576);
            double ss = 0;
            for (float v : row) {
                QVERIFY(std::isfinite(v));
                ss += double(v) * v;
            }
            QVERIFY(ss > 1e-4 && ss < 1e4);
        }
        const GgufTensor* norm = f.find_tensor("output_norm.weight");
        QCOMPARE(norm->type, GgmlType::F32);
        std::vector<float> nv = dequant(*norm);
        double mean = 0;
        for (float v : nv) mean += v / 576.0;
        QVERIFY(mean > 0.1 && mean < 10);
    }

private:
    std::vector<float> dequant_exact(GgmlType t, const std::vector<float>& x) {
        auto q = quantize_to(t, x.data(), static_cast<int64_t>(x.size()));
        std::vector<float> y(x.size());
        dequantize_row(t, q.data(), y.data(), static_cast<int64_t>(x.size()));
        return y;
    }
};

QTEST_GUILESS_MAIN(TestGguf)
#include "test_gguf.moc"
