// Row clustering and packing: nesting, optimality against exhaustive and
// brute-force searches, table means, baselines, and the bitplane/int8 layout.
#include "test_util.h"

#include "cluster.h"
#include "kernels.h"
#include "pack.h"

#include <array>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <tuple>
#include <vector>

using ap::quant::JointNesting;
using ap::quant::JointOptions;
using ap::quant::RowClusterer;
using ap::quant::RowQuant;

namespace {

struct Row {
    std::vector<float> w, s;
};

// Gaussian weights; with `grid` they are snapped to a few levels per block of
// 32 (like a Q4_1 source), which makes many duplicates.
Row random_row(std::mt19937& rng, int n, bool grid, bool weighted) {
    std::normal_distribution<float> nd(0.f, 0.05f);
    std::exponential_distribution<float> ed(1.f);
    Row r;
    r.w.resize(n);
    for (int i = 0; i < n; ++i) r.w[i] = nd(rng);
    if (grid) {
        for (int b = 0; b < n; b += 32) {
            const int e = std::min(n, b + 32);
            const float lo = *std::min_element(r.w.begin() + b, r.w.begin() + e);
            const float hi = *std::max_element(r.w.begin() + b, r.w.begin() + e);
            const float d = (hi - lo) / 15.f;
            for (int i = b; i < e; ++i) r.w[i] = d > 0 ? lo + d * std::round((r.w[i] - lo) / d) : lo;
        }
    }
    if (weighted) {
        r.s.resize(n);
        for (int i = 0; i < n; ++i) r.s[i] = ed(rng);
    }
    return r;
}

const float* sens(const Row& r) { return r.s.empty() ? nullptr : r.s.data(); }
double sw(const Row& r, int i) { return r.s.empty() ? 1.0 : double(r.s[i]); }

// Exact weighted SSE of a set of members around their own weighted mean.
double sse(const Row& r, const std::vector<int>& members) {
    double s0 = 0, s1 = 0;
    for (int i : members) { s0 += sw(r, i); s1 += sw(r, i) * r.w[i]; }
    if (s0 <= 0) return 0;
    const double mu = s1 / s0;
    double e = 0;
    for (int i : members) e += sw(r, i) * (r.w[i] - mu) * (r.w[i] - mu);
    return e;
}

// Members of every b-bit cluster.
std::vector<std::vector<int>> clusters_at(const RowQuant& q, int bits) {
    std::vector<std::vector<int>> cl(size_t(1) << bits);
    for (size_t i = 0; i < q.index.size(); ++i) cl[q.index[i] >> (q.hi_bits - bits)].push_back(int(i));
    return cl;
}

// The b-bit clusters are contiguous value ranges, in index order, disjoint.
bool ranges_ordered(const Row& r, const RowQuant& q, int bits) {
    float prev_max = -std::numeric_limits<float>::infinity();
    for (const auto& c : clusters_at(q, bits)) {
        if (c.empty()) continue;
        float lo = r.w[c[0]], hi = lo;
        for (int i : c) { lo = std::min(lo, r.w[i]); hi = std::max(hi, r.w[i]); }
        if (!(lo > prev_max)) return false;
        prev_max = hi;
    }
    return true;
}

double partition_cost(const Row& r, const RowQuant& q, int bits) {
    double e = 0;
    for (const auto& c : clusters_at(q, bits)) e += sse(r, c);
    return e;
}

// Distinct sorted values with summed weights.
void distinct(const Row& r, const std::vector<int>& members, std::vector<double>& v, std::vector<double>& m) {
    std::map<float, double> acc;
    for (int i : members) acc[r.w[i]] += sw(r, i);
    v.clear();
    m.clear();
    for (auto [x, s] : acc) { v.push_back(x); m.push_back(s); }
}

double range_cost(const std::vector<double>& v, const std::vector<double>& m, int a, int b) {
    double s0 = 0, s1 = 0;
    for (int j = a; j < b; ++j) { s0 += m[j]; s1 += m[j] * v[j]; }
    if (s0 <= 0) return 0;
    const double mu = s1 / s0;
    double e = 0;
    for (int j = a; j < b; ++j) e += m[j] * (v[j] - mu) * (v[j] - mu);
    return e;
}

// Best cost of cutting sorted values into at most k contiguous groups, by trying every set of cuts.
double exhaustive_optimum(const std::vector<double>& v, const std::vector<double>& m, int k) {
    const int n = int(v.size());
    double best = std::numeric_limits<double>::infinity();
    for (uint32_t cuts = 0; cuts < (1u << (n - 1)); ++cuts) {
        if (__builtin_popcount(cuts) > k - 1) continue;
        double e = 0;
        int a = 0;
        for (int g = 0; g < n - 1; ++g)
            if (cuts >> g & 1) { e += range_cost(v, m, a, g + 1); a = g + 1; }
        e += range_cost(v, m, a, n);
        best = std::min(best, e);
    }
    return best;
}

// Plain O(k n^2) dynamic programme, independent of the clusterer's.
double dp_optimum(const std::vector<double>& v, const std::vector<double>& m, int k) {
    const int n = int(v.size());
    if (n <= k) return 0;
    std::vector<long double> p0(n + 1), p1(n + 1), p2(n + 1);  // long double: exact enough at 8 bits
    for (int j = 0; j < n; ++j) {
        p0[j + 1] = p0[j] + m[j];
        p1[j + 1] = p1[j] + m[j] * v[j];
        p2[j + 1] = p2[j] + m[j] * v[j] * v[j];
    }
    auto cost = [&](int a, int b) {
        const long double s0 = p0[b] - p0[a], s1 = p1[b] - p1[a];
        return std::max(0.0L, p2[b] - p2[a] - s1 * s1 / s0);
    };
    const long double inf = std::numeric_limits<long double>::infinity();
    std::vector<long double> prev(n + 1, inf), cur(n + 1, inf);
    for (int i = 1; i <= n; ++i) prev[i] = cost(0, i);
    for (int j = 2; j <= k; ++j) {
        std::fill(cur.begin(), cur.end(), inf);
        for (int i = j; i <= n; ++i)
            for (int t = j - 1; t < i; ++t) cur[i] = std::min(cur[i], prev[t] + cost(t, i));
        std::swap(prev, cur);
    }
    return double(prev[n]);
}

bool close(double a, double b, double rel = 1e-9, double abs = 1e-14) {
    return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b)) + abs;
}

std::vector<Row> row_set(int count, int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<Row> rows;
    for (int i = 0; i < count; ++i) rows.push_back(random_row(rng, n, i % 2 == 0, i % 3 != 2));
    return rows;
}

}  // namespace

class TestCluster : public QObject {
    Q_OBJECT
private slots:
    void nestedContiguousClusters();
    void tablesAreWeightedMeans();
    void errorNeverGrowsWithWidth();
    void seedIsOptimalExhaustive();
    void seedIsOptimalAgainstPlainDp();
    void upscaleSplitsAreBest();
    void deterministic();
    void zeroSensitivityFallsBack();
    void rtnLevelsUniform();
    void kmeansBaseline();
    void anchorWidthIsOptimal();
    void kmeansLloydFallback();
    void lloydBaseline();
    void packRoundTrip();
    void int8TableError();
    void syntheticRowsTiming();
    void jointTablesMatchBruteForce();
    void jointSlackZeroKeepsOptimalSeed();
    void jointObjectiveNotAboveGreedy();
    void jointSlackHolds();
    void jointNestedAndBinned();
    void jointRowsTiming();
};

// At every width each cluster is a contiguous value range, ordered by index,
// and the b-bit index is the parent index shifted right.
void TestCluster::nestedContiguousClusters() {
    RowClusterer rc;
    RowQuant q;
    int cases = 0;
    for (auto [seed, parent] : {std::pair{3, 8}, {2, 4}, {5, 6}, {3, 3}}) {
        for (int n : {1, 5, 33, 576}) {
            for (const Row& r : row_set(3, n, 100 + n)) {
                rc.anyprec(r.w.data(), sens(r), n, seed, parent, q);
                QCOMPARE(q.lo_bits, seed);
                QCOMPARE(q.hi_bits, parent);
                QCOMPARE(int(q.index.size()), n);
                for (uint8_t idx : q.index) QVERIFY(idx < (1 << parent));
                for (int b = seed; b <= parent; ++b) {
                    QCOMPARE(int(q.table[b].size()), 1 << b);
                    QVERIFY(ranges_ordered(r, q, b));
                    // Nesting: members of b-bit cluster c are exactly those of children 2c, 2c+1.
                    if (b < parent) {
                        const auto lo_cl = clusters_at(q, b), hi_cl = clusters_at(q, b + 1);
                        for (size_t c = 0; c < lo_cl.size(); ++c) {
                            std::vector<int> u = hi_cl[2 * c];
                            u.insert(u.end(), hi_cl[2 * c + 1].begin(), hi_cl[2 * c + 1].end());
                            std::sort(u.begin(), u.end());
                            QCOMPARE(u, lo_cl[c]);
                        }
                    }
                }
                ++cases;
            }
        }
    }
    QVERIFY(cases > 0);
}

void TestCluster::tablesAreWeightedMeans() {
    RowClusterer rc;
    RowQuant q;
    for (const Row& r : row_set(12, 300, 7)) {
        rc.anyprec(r.w.data(), sens(r), 300, 3, 8, q);
        for (int b = 3; b <= 8; ++b) {
            const auto cl = clusters_at(q, b);
            for (size_t c = 0; c < cl.size(); ++c) {
                if (cl[c].empty()) {
                    QCOMPARE(q.mass[b][c], 0.0);
                    if (b > 3) QCOMPARE(q.table[b][c], q.table[b - 1][c >> 1]);  // inherits its parent's centroid
                    continue;
                }
                double s0 = 0, s1 = 0;
                for (int i : cl[c]) { s0 += sw(r, i); s1 += sw(r, i) * r.w[i]; }
                QVERIFY2(close(q.table[b][c], s1 / s0, 1e-6, 1e-9), qPrintable(QString("b=%1 c=%2").arg(b).arg(c)));
                QVERIFY(close(q.mass[b][c], s0, 1e-9));
            }
        }
    }
}

void TestCluster::errorNeverGrowsWithWidth() {
    RowClusterer rc;
    RowQuant q;
    for (const Row& r : row_set(20, 576, 11)) {
        rc.anyprec(r.w.data(), sens(r), 576, 3, 8, q);
        double prev = std::numeric_limits<double>::infinity();
        for (int b = 3; b <= 8; ++b) {
            const double e = ap::quant::weighted_sq_error(q, r.w.data(), sens(r), 576, b);
            QVERIFY2(e <= prev * (1 + 1e-9) + 1e-15, qPrintable(QString("width %1: %2 > %3").arg(b).arg(e).arg(prev)));
            prev = e;
        }
        QVERIFY(prev < ap::quant::weighted_sq_error(q, r.w.data(), sens(r), 576, 3));
    }
}

void TestCluster::seedIsOptimalExhaustive() {
    std::mt19937 rng(5);
    RowClusterer rc;
    RowQuant q;
    int checked = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const int n = 1 + trial % 12;
        Row r = random_row(rng, n, false, trial % 2 == 0);
        if (trial % 5 == 0 && n > 3) r.w[1] = r.w[0], r.w[3] = r.w[2];  // duplicates
        for (int bits : {1, 2, 3}) {
            rc.anyprec(r.w.data(), sens(r), n, bits, bits, q);
            std::vector<int> all(n);
            for (int i = 0; i < n; ++i) all[i] = i;
            std::vector<double> v, m;
            distinct(r, all, v, m);
            const double opt = exhaustive_optimum(v, m, 1 << bits);
            const double got = partition_cost(r, q, bits);
            QVERIFY2(close(got, opt), qPrintable(QString("n=%1 k=%2: %3 vs optimum %4").arg(n).arg(1 << bits).arg(got).arg(opt)));
            ++checked;
        }
    }
    QCOMPARE(checked, 900);
}

void TestCluster::seedIsOptimalAgainstPlainDp() {
    RowClusterer rc;
    RowQuant q;
    for (int n : {40, 150, 400}) {
        for (const Row& r : row_set(4, n, 30 + n)) {
            std::vector<int> all(n);
            for (int i = 0; i < n; ++i) all[i] = i;
            std::vector<double> v, m;
            distinct(r, all, v, m);
            for (int bits : {2, 3, 4}) {
                rc.anyprec(r.w.data(), sens(r), n, bits, bits, q);
                QVERIFY(close(partition_cost(r, q, bits), dp_optimum(v, m, 1 << bits), 1e-8));
            }
        }
    }
}

// Every cluster's two children are the best split of its sorted members.
void TestCluster::upscaleSplitsAreBest() {
    RowClusterer rc;
    RowQuant q;
    int splits = 0;
    for (const Row& r : row_set(6, 257, 21)) {
        rc.anyprec(r.w.data(), sens(r), 257, 3, 8, q);
        for (int b = 3; b < 8; ++b) {
            const auto parent = clusters_at(q, b), child = clusters_at(q, b + 1);
            for (size_t c = 0; c < parent.size(); ++c) {
                std::vector<double> v, m;
                distinct(r, parent[c], v, m);
                if (v.size() < 2) {
                    QCOMPARE(child[2 * c + 1].size(), size_t(0));
                    QCOMPARE(q.table[b + 1][2 * c], q.table[b][c]);
                    QCOMPARE(q.table[b + 1][2 * c + 1], q.table[b][c]);
                    continue;
                }
                double best = std::numeric_limits<double>::infinity();
                for (size_t t = 1; t < v.size(); ++t)
                    best = std::min(best, range_cost(v, m, 0, int(t)) + range_cost(v, m, int(t), int(v.size())));
                QVERIFY(!child[2 * c].empty() && !child[2 * c + 1].empty());
                const double got = sse(r, child[2 * c]) + sse(r, child[2 * c + 1]);
                QVERIFY2(close(got, best, 1e-8, 1e-16), qPrintable(QString("b=%1 c=%2: %3 vs %4").arg(b).arg(c).arg(got).arg(best)));
                ++splits;
            }
        }
    }
    QVERIFY(splits > 100);
}

void TestCluster::deterministic() {
    const auto rows = row_set(4, 576, 3);
    RowClusterer a, b;
    RowQuant qa, qb, junk;
    b.anyprec(rows[3].w.data(), sens(rows[3]), 576, 2, 7, junk);  // b's buffers hold another row
    for (const Row& r : rows) {
        a.anyprec(r.w.data(), sens(r), 576, 3, 8, qa);
        b.anyprec(r.w.data(), sens(r), 576, 3, 8, qb);
        QCOMPARE(qa.index, qb.index);
        for (int w = 3; w <= 8; ++w) QCOMPARE(qa.table[w], qb.table[w]);
    }
}

void TestCluster::zeroSensitivityFallsBack() {
    std::mt19937 rng(9);
    RowClusterer rc;
    RowQuant plain, zero, nan, partial;
    Row r = random_row(rng, 200, true, false);
    std::vector<float> zeros(200, 0.f), nans(200, std::nanf("")), part(200, 1.f);
    for (int i = 0; i < 200; i += 3) part[i] = 0.f;
    rc.anyprec(r.w.data(), nullptr, 200, 3, 8, plain);
    rc.anyprec(r.w.data(), zeros.data(), 200, 3, 8, zero);
    rc.anyprec(r.w.data(), nans.data(), 200, 3, 8, nan);
    QCOMPARE(zero.index, plain.index);
    QCOMPARE(nan.index, plain.index);
    for (int b = 3; b <= 8; ++b) QCOMPARE(zero.table[b], plain.table[b]);
    // Zero-sensitivity weights inside a weighted row still get a valid, finite cluster.
    rc.anyprec(r.w.data(), part.data(), 200, 3, 8, partial);
    const auto [lo, hi] = std::minmax_element(r.w.begin(), r.w.end());
    for (int b = 3; b <= 8; ++b)
        for (float t : partial.table[b]) QVERIFY(std::isfinite(t) && t >= *lo && t <= *hi);
    // A constant row: every width reproduces it exactly.
    std::vector<float> flat(50, 0.25f);
    rc.anyprec(flat.data(), nullptr, 50, 3, 8, plain);
    for (int b = 3; b <= 8; ++b) QCOMPARE(ap::quant::weighted_sq_error(plain, flat.data(), nullptr, 50, b), 0.0);
}

void TestCluster::rtnLevelsUniform() {
    RowClusterer rc;
    RowQuant q;
    for (const Row& r : row_set(5, 333, 17)) {
        const auto [lo, hi] = std::minmax_element(r.w.begin(), r.w.end());
        for (int bits : {2, 3, 4, 8}) {
            rc.rtn(r.w.data(), 333, bits, q);
            const auto& t = q.table[bits];
            QCOMPARE(int(t.size()), 1 << bits);
            QCOMPARE(t.front(), *lo);
            QCOMPARE(t.back(), *hi);
            const double step = (double(*hi) - *lo) / ((1 << bits) - 1);
            const double ulp = 4 * std::numeric_limits<float>::epsilon() * std::max(std::fabs(*lo), std::fabs(*hi));
            for (size_t c = 1; c < t.size(); ++c) QVERIFY(std::fabs(t[c] - t[c - 1] - step) <= ulp);
            for (int i = 0; i < 333; ++i) QVERIFY(std::fabs(r.w[i] - t[q.index[i]]) <= step * 0.5 * (1 + 1e-5));
        }
    }
}

void TestCluster::kmeansBaseline() {
    RowClusterer rc;
    RowQuant q;
    for (const Row& r : row_set(3, 300, 41)) {
        std::vector<int> all(300);
        for (int i = 0; i < 300; ++i) all[i] = i;
        std::vector<double> v, m;
        distinct(r, all, v, m);
        for (int bits : {3, 5, 8}) {
            rc.kmeans(r.w.data(), sens(r), 300, bits, q);
            QVERIFY(!rc.last_used_lloyd());
            QCOMPARE(q.lo_bits, bits);
            QCOMPARE(q.hi_bits, bits);
            QVERIFY(close(partition_cost(r, q, bits), dp_optimum(v, m, 1 << bits), 1e-8, 1e-15));
        }
        // Independent 4-bit k-means is at least as good as the any-precision 4-bit model.
        RowQuant ap4;
        rc.anyprec(r.w.data(), sens(r), 300, 3, 8, ap4);
        rc.kmeans(r.w.data(), sens(r), 300, 4, q);
        QVERIFY(partition_cost(r, q, 4) <= partition_cost(r, ap4, 4) * (1 + 1e-9));
    }
}

void TestCluster::anchorWidthIsOptimal() {
    RowClusterer rc;
    RowQuant q, k4;
    for (const Row& r : row_set(6, 300, 43)) {
        rc.anyprec(r.w.data(), sens(r), 300, 3, 8, q, 4);
        QCOMPARE(q.lo_bits, 3);
        QCOMPARE(q.hi_bits, 8);
        // The anchor width equals independent optimal k-means there.
        rc.kmeans(r.w.data(), sens(r), 300, 4, k4);
        QVERIFY(close(partition_cost(r, q, 4), partition_cost(r, k4, 4), 1e-8, 1e-15));
        // Below the anchor: each 3-bit cluster is the union of its two 4-bit children,
        // and its table entry is the weighted mean of that union.
        const auto c3 = clusters_at(q, 3), c4 = clusters_at(q, 4);
        for (size_t c = 0; c < c3.size(); ++c) {
            QCOMPARE(c3[c].size(), c4[2 * c].size() + c4[2 * c + 1].size());
            if (c3[c].empty()) continue;
            double s0 = 0, s1 = 0;
            for (int i : c3[c]) { s0 += sw(r, i); s1 += sw(r, i) * r.w[i]; }
            QVERIFY(close(q.table[3][c], s1 / s0, 1e-6, 1e-9));
        }
        // Still nested and still never worse with width.
        double prev = std::numeric_limits<double>::infinity();
        for (int b = 3; b <= 8; ++b) {
            const double e = ap::quant::weighted_sq_error(q, r.w.data(), sens(r), 300, b);
            QVERIFY(e <= prev * (1 + 1e-9) + 1e-15);
            prev = e;
        }
    }
}

void TestCluster::kmeansLloydFallback() {
    std::mt19937 rng(77);
    const int n = 32768;  // enough distinct values to exceed kMaxExactKmeansWork at 8 bits
    Row r = random_row(rng, n, false, false);
    RowClusterer rc;
    RowQuant km, rtn;
    rc.kmeans(r.w.data(), nullptr, n, 8, km);
    QVERIFY(rc.last_used_lloyd());
    rc.rtn(r.w.data(), n, 8, rtn);
    const auto cl = clusters_at(km, 8);
    for (size_t c = 0; c < cl.size(); ++c) {
        if (cl[c].empty()) continue;
        double sum = 0;
        for (int i : cl[c]) sum += r.w[i];
        QVERIFY(close(km.table[8][c], sum / cl[c].size(), 1e-6, 1e-9));
    }
    const double e_km = ap::quant::weighted_sq_error(km, r.w.data(), nullptr, n, 8);
    const double e_rtn = ap::quant::weighted_sq_error(rtn, r.w.data(), nullptr, n, 8);
    QVERIFY2(e_km < e_rtn, qPrintable(QString("lloyd %1 vs rtn %2").arg(e_km).arg(e_rtn)));
}

// The paper's baseline: a local optimum, never better than the exact one,
// usually close to it, far better than rtn, reproducible from its seed.
void TestCluster::lloydBaseline() {
    RowClusterer rc;
    RowQuant ll, again, km, rtn;
    double sum_ll = 0, sum_km = 0;
    for (const Row& r : row_set(8, 576, 47))
        for (int bits : {3, 4, 6}) {
            rc.lloyd(r.w.data(), sens(r), 576, bits, ll, 12345);
            rc.lloyd(r.w.data(), sens(r), 576, bits, again, 12345);
            QCOMPARE(again.index, ll.index);
            rc.kmeans(r.w.data(), sens(r), 576, bits, km);
            rc.rtn(r.w.data(), 576, bits, rtn);
            const double e_ll = partition_cost(r, ll, bits), e_km = partition_cost(r, km, bits);
            QVERIFY2(e_ll >= e_km * (1 - 1e-9), qPrintable(QString("lloyd %1 below the optimum %2").arg(e_ll).arg(e_km)));
            QVERIFY(e_ll < ap::quant::weighted_sq_error(rtn, r.w.data(), sens(r), 576, bits));
            // Tables are the weighted means of their clusters (a Lloyd fixed point).
            const auto cl = clusters_at(ll, bits);
            for (size_t c = 0; c < cl.size(); ++c) {
                if (cl[c].empty()) continue;
                double s0 = 0, s1 = 0;
                for (int i : cl[c]) { s0 += sw(r, i); s1 += sw(r, i) * r.w[i]; }
                QVERIFY(close(ll.table[bits][c], s1 / s0, 1e-6, 1e-9));
            }
            sum_ll += e_ll;
            sum_km += e_km;
        }
    QVERIFY2(sum_ll < 1.2 * sum_km, qPrintable(QString("lloyd %1 vs optimum %2").arg(sum_ll).arg(sum_km)));
}

// Packed bitplanes + int8 tables, dequantized by the reference kernel, give
// each weight its table value up to half an int8 step (or a clamped code).
void TestCluster::packRoundTrip() {
    for (auto [seed, parent] : {std::pair{3, 8}, {2, 4}, {5, 6}}) {
        for (int cols : {1, 31, 32, 33, 100}) {
            const int rows = 5;
            auto set = row_set(rows, cols, 50 + cols);
            ap::ApWeight w = ap::quant::make_ap_weight(rows, cols, seed, parent);
            RowClusterer rc;
            std::vector<RowQuant> qs(rows);
            for (int r = 0; r < rows; ++r) {
                rc.anyprec(set[r].w.data(), sens(set[r]), cols, seed, parent, qs[r]);
                ap::quant::pack_row(w, r, qs[r]);
            }
            const ap::kern::ApMatrix m = w.view();
            // Layout: plane p holds bit (parent-1-p), bits past cols are zero.
            for (int p = 0; p < parent; ++p)
                for (int r = 0; r < rows; ++r)
                    for (int k = 0; k < m.words * 32; ++k) {
                        const uint32_t bit = m.planes[(size_t(p) * rows + r) * m.words + k / 32] >> (k % 32) & 1u;
                        const uint32_t want = k < cols ? (qs[r].index[k] >> (parent - 1 - p)) & 1u : 0u;
                        QCOMPARE(bit, want);
                    }
            std::vector<float> deq(size_t(rows) * cols);
            for (int b = seed; b <= parent; ++b) {
                ap::kern::dequant_ap_scalar(m, b, 0, rows, deq.data());
                for (int r = 0; r < rows; ++r) {
                    const float scale = w.affine[b][2 * r];
                    QVERIFY(scale >= 0);
                    for (int k = 0; k < cols; ++k) {
                        const float exact = qs[r].table[b][qs[r].index[k] >> (parent - b)];
                        const float got = deq[size_t(r) * cols + k];
                        const int code = w.lut[b][(size_t(r) << b) + (qs[r].index[k] >> (parent - b))];
                        if (std::abs(code) == 127) continue;  // clamped entries: see int8TableError
                        QVERIFY2(std::fabs(got - exact) <= 0.5f * scale * 1.0001f + 1e-7f * std::fabs(exact),
                                 qPrintable(QString("b=%1 r=%2 k=%3: %4 vs %5").arg(b).arg(r).arg(k).arg(got).arg(exact)));
                    }
                }
            }
        }
    }
}

// The reported int8 error equals the actual increase in weighted error, and
// is never worse than mapping the table's range straight onto -127..127.
void TestCluster::int8TableError() {
    const int rows = 8, cols = 576;
    auto set = row_set(rows, cols, 99);
    ap::ApWeight w = ap::quant::make_ap_weight(rows, cols, 3, 8);
    RowClusterer rc;
    std::vector<float> deq(cols);
    for (int r = 0; r < rows; ++r) {
        RowQuant q;
        rc.anyprec(set[r].w.data(), sens(set[r]), cols, 3, 8, q);
        ap::quant::TableError added;
        ap::quant::pack_row(w, r, q, &added);
        for (int b = 3; b <= 8; ++b) {
            ap::kern::dequant_ap_scalar(w.view(), b, r, r + 1, deq.data());
            double e_int8 = 0;
            for (int k = 0; k < cols; ++k) e_int8 += sw(set[r], k) * (double(set[r].w[k]) - deq[k]) * (double(set[r].w[k]) - deq[k]);
            const double e_float = partition_cost(set[r], q, b);
            QVERIFY2(close(e_int8 - e_float, added[b], 1e-3, 1e-12),
                     qPrintable(QString("b=%1: %2 vs reported %3").arg(b).arg(e_int8 - e_float).arg(added[b])));
            const auto& t = q.table[b];
            const auto [lo, hi] = std::minmax_element(t.begin(), t.end());
            const float sc = float((double(*hi) - *lo) / 254.0), off = float(0.5 * (double(*hi) + *lo));
            double e_plain = 0;
            for (size_t c = 0; c < t.size(); ++c) {
                const float v = off + sc * float(std::clamp(std::nearbyint((double(t[c]) - off) / sc), -127.0, 127.0));
                e_plain += q.mass[b][c] * (double(v) - t[c]) * (double(v) - t[c]);
            }
            QVERIFY2(added[b] <= e_plain * (1 + 1e-9), qPrintable(QString("b=%1: %2 > plain %3").arg(b).arg(added[b]).arg(e_plain)));
        }
    }
}

// Speed and int8 table error on Q4_1-like rows of the SmolLM2 width (reported;
// the check only catches a pathological slowdown).
void TestCluster::syntheticRowsTiming() {
    const int cols = 576, rows = 2000;
    auto set = row_set(rows, cols, 1234);
    RowClusterer rc;
    RowQuant q;
    ap::ApWeight w = ap::quant::make_ap_weight(rows, cols, 3, 8);
    ap::quant::TableError added, sum_added{};
    double sum_err[9] = {};
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < rows; ++r) {
        rc.anyprec(set[r].w.data(), sens(set[r]), cols, 3, 8, q);
        ap::quant::pack_row(w, r, q, &added);
        for (int b = 3; b <= 8; ++b) {
            sum_added[b] += added[b];
            sum_err[b] += ap::quant::weighted_sq_error(q, set[r].w.data(), sens(set[r]), cols, b);
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    qInfo("synthetic %dx%d rows, 1 thread: %.0f rows/s (cluster + pack)", rows, cols, rows / s);
    for (int b = 3; b <= 8; ++b)
        qInfo("  %d-bit: int8 tables add %.3f%% to the weighted squared error", b, 100.0 * sum_added[b] / sum_err[b]);
    QVERIFY(rows / s > 100);
}

namespace {

// Least weighted error of widths b+1..top below cluster [i, j) of sorted
// values, by trying every split (empty children included) at every level.
double brute_subtree(const std::vector<double>& v, const std::vector<double>& m, const std::array<double, 9>& lam,
                     int b, int top, int i, int j) {
    if (b == top) return 0;
    double best = std::numeric_limits<double>::infinity();
    for (int t = i; t <= j; ++t)
        best = std::min(best, lam[b + 1] * (range_cost(v, m, i, t) + range_cost(v, m, t, j)) +
                                  brute_subtree(v, m, lam, b + 1, top, i, t) + brute_subtree(v, m, lam, b + 1, top, t, j));
    return best;
}

// Best lambda_seed * E_seed + subtrees over every seed partition (k ranges, empty allowed).
double brute_joint(const std::vector<double>& v, const std::vector<double>& m, const std::array<double, 9>& lam,
                   int seed, int top, int k, int from) {
    const int n = int(v.size());
    auto cell = [&](int i, int j) { return lam[seed] * range_cost(v, m, i, j) + brute_subtree(v, m, lam, seed, top, i, j); };
    if (k == 1) return cell(from, n);
    double best = std::numeric_limits<double>::infinity();
    for (int t = from; t <= n; ++t) best = std::min(best, cell(from, t) + brute_joint(v, m, lam, seed, top, k - 1, t));
    return best;
}

// Weighted objective sum_b lambda_b E_b of a row's tree (exact cluster means).
double joint_objective(const Row& r, const RowQuant& q, const std::array<double, 9>& lam) {
    double o = 0;
    for (int b = q.lo_bits; b <= q.hi_bits; ++b)
        if (lam[b] > 0) o += lam[b] * partition_cost(r, q, b);
    return o;
}

// Gaussian rows, some with a few large outliers (the rows the slack protects).
std::vector<Row> joint_rows(int count, int n, uint32_t seed) {
    std::vector<Row> rows = row_set(count, n, seed);
    std::mt19937 rng(seed + 1);
    for (size_t r = 0; r < rows.size(); r += 3)
        for (int o = 0; o < 3 && o < n; ++o) rows[r].w[size_t(rng() % n)] *= 8.f;
    return rows;
}

}  // namespace

// The G tables and the seed programme against trying every tree, on tiny rows
// (8-12 distinct values, seed 3, parent 5, random width weights).
void TestCluster::jointTablesMatchBruteForce() {
    std::mt19937 rng(77);
    std::uniform_real_distribution<double> ud(0.2, 3.0);
    for (int trial = 0; trial < 12; ++trial) {
        const int n = 8 + trial % 5;
        const Row r = random_row(rng, n, false, trial % 2 == 0);
        std::vector<int> all(n);
        for (int i = 0; i < n; ++i) all[i] = i;
        std::vector<double> v, m;
        distinct(r, all, v, m);
        const int M = int(v.size());
        std::vector<double> p0(M + 1), p1(M + 1), p2(M + 1);
        for (int j = 0; j < M; ++j) {
            p0[j + 1] = p0[j] + m[j];
            p1[j + 1] = p1[j] + m[j] * v[j];
            p2[j + 1] = p2[j] + m[j] * v[j] * v[j];
        }
        std::array<double, 9> lam{};
        for (int b = 3; b <= 5; ++b) lam[b] = ud(rng) * std::pow(4.0, b - 3);
        std::vector<int> cuts(M + 1);
        for (int i = 0; i <= M; ++i) cuts[i] = i;
        JointNesting jn;
        jn.build(p0.data(), p1.data(), p2.data(), cuts, 3, 5, lam);
        for (int b = 3; b <= 4; ++b)
            for (int i = 0; i < M; ++i)
                for (int j = i + 1; j <= M; ++j)
                    QVERIFY2(close(jn.subtree(b, i, j), brute_subtree(v, m, lam, b, 5, i, j), 1e-9, 1e-15),
                             qPrintable(QString("trial %1 G_%2(%3, %4)").arg(trial).arg(b).arg(i).arg(j)));
        std::vector<int> seed;
        const double e3 = jn.seed_partition(lam[3], seed);
        const double got = lam[3] * e3 + jn.subtree_error(seed);
        QVERIFY2(close(got, brute_joint(v, m, lam, 3, 5, 8, 0), 1e-9, 1e-15), qPrintable(QString("trial %1").arg(trial)));
    }
}

// Slack 0 keeps the optimal seed: the seed width's error is greedy's.
void TestCluster::jointSlackZeroKeepsOptimalSeed() {
    RowClusterer rc;
    RowQuant g, j;
    JointOptions opt;
    opt.seed_slack = 0;
    for (const Row& r : joint_rows(12, 200, 31)) {
        rc.anyprec(r.w.data(), sens(r), 200, 3, 8, g);
        rc.anyprec_joint(r.w.data(), sens(r), 200, 3, 8, j, opt);
        QVERIFY(close(partition_cost(r, j, 3), partition_cost(r, g, 3), 1e-12, 1e-18));
        QCOMPARE(rc.last_joint_lambda()[3], 0.0);
    }
}

// The joint tree minimises the weighted objective; greedy's tree is one of the
// trees it considers (its seed is within the slack), so it can never be better.
void TestCluster::jointObjectiveNotAboveGreedy() {
    RowClusterer rc;
    RowQuant g, j;
    int strictly_better = 0, rows = 0;
    for (double slack : {0.0, 0.02, 0.1}) {
        JointOptions opt;
        opt.seed_slack = slack;
        for (const Row& r : joint_rows(10, 160, 41)) {
            rc.anyprec(r.w.data(), sens(r), 160, 3, 8, g);
            rc.anyprec_joint(r.w.data(), sens(r), 160, 3, 8, j, opt);
            const auto lam = rc.last_joint_lambda();
            const double oj = joint_objective(r, j, lam), og = joint_objective(r, g, lam);
            QVERIFY2(oj <= og * (1 + 1e-9), qPrintable(QString("slack %1: joint %2 > greedy %3").arg(slack).arg(oj).arg(og)));
            strictly_better += oj < og * (1 - 1e-6);
            ++rows;
        }
    }
    QVERIFY2(strictly_better > rows / 2, qPrintable(QString("only %1 of %2 rows improved").arg(strictly_better).arg(rows)));
}

// The seed width's error stays within the slack of the optimal seed's; given
// a few percent of slack, widths 4 and 5 gain on average (at 0.5% the gain is
// within what cutting 576 values at 192 positions costs).
void TestCluster::jointSlackHolds() {
    RowClusterer rc;
    RowQuant g, j;
    for (double slack : {0.005, 0.02, 0.1}) {
        JointOptions opt;
        opt.seed_slack = slack;
        double sum_g = 0, sum_j = 0;
        for (const Row& r : joint_rows(12, 576, 51)) {
            rc.anyprec(r.w.data(), sens(r), 576, 3, 8, g);
            rc.anyprec_joint(r.w.data(), sens(r), 576, 3, 8, j, opt);
            const double e3g = partition_cost(r, g, 3), e3j = partition_cost(r, j, 3);
            QVERIFY2(e3j <= e3g * (1 + slack) * (1 + 1e-9), qPrintable(QString("slack %1: %2 vs %3").arg(slack).arg(e3j).arg(e3g)));
            for (int b : {4, 5}) {
                sum_g += 1;
                sum_j += partition_cost(r, j, b) / partition_cost(r, g, b);
            }
        }
        if (slack >= 0.02)
            QVERIFY2(sum_j < 0.97 * sum_g, qPrintable(QString("slack %1: 4/5-bit ratio %2").arg(slack).arg(sum_j / sum_g)));
    }
}

// Nesting holds for joint rows of every length, binned or not: clusters are
// ordered contiguous ranges and the b-bit index is the parent index shifted.
void TestCluster::jointNestedAndBinned() {
    RowClusterer rc;
    RowQuant q;
    for (int max_points : {1024, 40}) {
        JointOptions opt;
        opt.max_points = max_points;
        for (auto [seed, parent, top] : {std::tuple{3, 8, 0}, {2, 4, 0}, {3, 8, 5}, {3, 3, 0}}) {
            opt.top_bits = top;
            for (int n : {1, 5, 9, 33, 300}) {
                for (const Row& r : joint_rows(3, n, 200 + n)) {
                    rc.anyprec_joint(r.w.data(), sens(r), n, seed, parent, q, opt);
                    QCOMPARE(int(q.index.size()), n);
                    for (int b = seed; b <= parent; ++b) {
                        QCOMPARE(int(q.table[b].size()), 1 << b);
                        QVERIFY(ranges_ordered(r, q, b));
                        // Tables are the clusters' weighted means (shared by nested clusters).
                        const auto cl = clusters_at(q, b);
                        for (size_t c = 0; c < cl.size(); ++c) {
                            if (cl[c].empty()) continue;
                            double s0 = 0, s1 = 0;
                            for (int i : cl[c]) { s0 += sw(r, i); s1 += sw(r, i) * r.w[i]; }
                            QVERIFY(close(q.table[b][c], s1 / s0, 1e-5, 1e-8));
                        }
                    }
                }
            }
        }
    }
}

// Speed on 576-wide rows, Q4_1-like (at most 288 distinct values) and
// Q8_0-like (all distinct), with the average error ratios against greedy
// (reported; the check catches only a pathological slowdown).
void TestCluster::jointRowsTiming() {
    const int cols = 576, rows = 200;
    auto set = joint_rows(rows, cols, 4321);
    RowClusterer rc;
    RowQuant g, j;
    JointOptions opt;
    if (const char* e = getenv("JT_TOP")) opt.top_bits = atoi(e);
    if (const char* e = getenv("JT_POINTS")) opt.max_points = atoi(e);
    if (const char* e = getenv("JT_SLACK")) opt.seed_slack = atof(e);
    double ratio[2][9] = {}, t_joint[2] = {};
    for (int r = 0; r < rows; ++r) {
        const int grid = r % 2 == 0;  // row_set's grid rows
        rc.anyprec(set[r].w.data(), sens(set[r]), cols, 3, 8, g);
        const auto t0 = std::chrono::steady_clock::now();
        rc.anyprec_joint(set[r].w.data(), sens(set[r]), cols, 3, 8, j, opt);
        t_joint[grid] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (int b = 3; b <= 8; ++b) ratio[grid][b] += partition_cost(set[r], j, b) / partition_cost(set[r], g, b) / (rows / 2);
    }
    for (int grid : {1, 0})
        qInfo("joint %s rows, 1 thread: %.0f rows/s; error vs greedy 3..8: %.3f %.3f %.3f %.3f %.3f %.3f",
              grid ? "Q4_1-like" : "all-distinct", rows / 2 / t_joint[grid], ratio[grid][3], ratio[grid][4],
              ratio[grid][5], ratio[grid][6], ratio[grid][7], ratio[grid][8]);
    QVERIFY(rows / (t_joint[0] + t_joint[1]) > 20);
}

QTEST_GUILESS_MAIN(TestCluster)
#include "test_cluster.moc"
