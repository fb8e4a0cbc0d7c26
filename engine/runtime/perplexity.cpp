// Perplexity exactly as ANYPREC.md §5 prescribes, so numbers compare across
// widths, peers and tools.
#include "error.h"
#include "session.h"

#include <chrono>
#include <cmath>

namespace ap {

PerplexityResult perplexity(Session& s, const std::vector<int32_t>& text_tokens, int ctx, int bits,
                            const ProgressFn& progress) {
    const Model& m = s.model();
    if (ctx < 2) throw Error("--ctx must be at least 2");
    const bool bos = m.tok->data().add_bos && m.tok->data().bos_id >= 0;
    if (ctx + (bos ? 1 : 0) > s.n_ctx())
        throw Error("window of " + std::to_string(ctx) + " tokens does not fit the session context of " +
                    std::to_string(s.n_ctx()));
    const int n_windows = int(text_tokens.size() / size_t(ctx));
    if (n_windows == 0)
        throw Error("text has " + std::to_string(text_tokens.size()) + " tokens, fewer than one window of " +
                    std::to_string(ctx));
    const auto t0 = std::chrono::steady_clock::now();
    const int V = m.cfg.n_vocab;
    PerplexityResult r;
    double nll = 0;
    std::vector<int32_t> win;
    std::vector<float> logits;
    for (int w = 0; w < n_windows; ++w) {
        if (progress && !progress(double(w) / n_windows, "window " + std::to_string(w + 1) + "/" + std::to_string(n_windows)))
            throw Error("perplexity cancelled");
        win.clear();
        if (bos) win.push_back(m.tok->data().bos_id);
        win.insert(win.end(), text_tokens.begin() + size_t(w) * ctx, text_tokens.begin() + size_t(w + 1) * ctx);
        s.reset();
        s.eval(win.data(), int(win.size()), bits, &logits, true);
        const int first = bos ? 1 : 0;  // index of the window's first text token
        // Score every text token but the first: predicted from the position before it.
        for (int i = first + 1; i < int(win.size()); ++i) {
            const float* lg = &logits[size_t(i - 1) * V];
            float mx = lg[0];
            for (int j = 1; j < V; ++j) mx = std::max(mx, lg[j]);
            double sum = 0;
            for (int j = 0; j < V; ++j) sum += std::exp(double(lg[j] - mx));
            nll += (std::log(sum) + mx) - lg[win[i]];
            r.n_scored++;
        }
        r.n_windows++;
    }
    s.reset();
    r.mean_nll = nll / double(r.n_scored);
    r.ppl = std::exp(r.mean_nll);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (progress) progress(1.0, "done");
    return r;
}

}  // namespace ap
