#include "generator.h"

#include "error.h"

#include <algorithm>

namespace ap {

namespace {

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// Length of the longest suffix of `text` that is a proper prefix of a stop
// string: that much must be held back until we know it is not a stop.
size_t held_back(const std::string& text, const std::vector<std::string>& stops) {
    size_t hold = 0;
    for (const auto& s : stops)
        for (size_t k = std::min(s.size() - 1, text.size()); k > hold; --k)
            if (text.compare(text.size() - k, k, s, 0, k) == 0) {
                hold = k;
                break;
            }
    return hold;
}

constexpr int kMaxDraft = kern::kFewTokens - 1;  // the verify batch (k + 1) stays on the exact few-token route

}  // namespace

Generator::Generator(Session& s, GenerateRequest req, TokenFn on_token)
    : s_(s), m_(s.model()), req_(std::move(req)), on_token_(std::move(on_token)), sampler_(req_.sampling) {
    if (req_.prompt.empty()) throw Error("empty prompt: nothing to generate from");
    if (int(req_.prompt.size()) >= s_.n_ctx())
        throw Error("prompt of " + std::to_string(req_.prompt.size()) + " tokens does not fit the context of " +
                    std::to_string(s_.n_ctx()) + " tokens (raise --ctx or shorten the prompt)");
    if (req_.draft_bits != 0) {
        if (!m_.any_precision()) throw Error("speculative decoding needs an any-precision checkpoint (one model, several widths)");
        req_.draft_bits = m_.resolve_bits(req_.draft_bits);
        if (req_.draft_k < 1 || req_.draft_k > kMaxDraft)
            throw Error("draft length " + std::to_string(req_.draft_k) + " is out of range (1.." + std::to_string(kMaxDraft) + ")");
        if (req_.target_tps > 0) throw Error("a latency target and speculative decoding cannot be combined");
    }
    k_ = req_.draft_k;
    if (req_.target_tps > 0) {
        const int top = m_.resolve_bits(req_.bits);
        std::vector<int> widths;
        std::vector<double> cost;
        for (int b : m_.widths())
            if (b > 0 && (top == 0 || b <= top)) {
                widths.push_back(b);
                cost.push_back(double(bytes_per_token(m_, b)));
            }
        if (widths.empty()) throw Error("a latency target needs an any-precision checkpoint (several widths to choose from)");
        governor_.emplace(widths, cost, req_.target_tps);
    }
    history_ = req_.prompt;
    scratch_.assign(size_t(m_.cfg.n_vocab), 0.0);
}

int Generator::target_width() {
    if (governor_) return governor_->next(res_.n_generated > 0 ? seconds(t_first_, Clock::now()) : 0, std::max(0, res_.n_generated - 1));
    return m_.resolve_bits(req_.live_bits ? req_.live_bits->load() : req_.bits);
}

void Generator::prefill() {
    started_ = true;
    t_start_ = Clock::now();
    res_.n_prompt = int(req_.prompt.size());
    // The first token comes from the prompt's width: the top of the range under a latency target.
    const int bits = governor_ ? m_.resolve_bits(req_.bits) : target_width();
    const int keep = s_.keep_prefix(req_.prompt, bits);
    s_.eval(req_.prompt.data() + keep, int(req_.prompt.size()) - keep, bits, &logits_, false);
    res_.n_prompt_evaluated = int(req_.prompt.size()) - keep;
    res_.prompt_s = seconds(t_start_, Clock::now());
    last_bits_ = bits;
}

bool Generator::step() {
    if (done_) return false;
    if (!started_) {
        prefill();
        if (req_.max_tokens <= 0) {
            finish(StopReason::MaxTokens);
            return false;
        }
    }
    if (cancelled()) {
        finish(StopReason::Cancelled);
        return false;
    }
    if (pending_ < 0) {  // the first token, from the prompt's logits
        const int32_t id = sampler_.sample(logits_.data(), m_.cfg.n_vocab, history_);
        t_first_ = Clock::now();
        res_.ttft_s = seconds(t_start_, t_first_);
        t_last_ = t_first_;
        take(id, last_bits_, false, -1, -1, res_.ttft_s - res_.prompt_s);  // sampling time after the prompt
        return !done_;
    }
    if (s_.n_past() >= s_.n_ctx()) {
        finish(StopReason::ContextFull);
        return false;
    }
    const int bits = target_width();
    // Draft only while it can help: a narrower draft width, room for a round in the context.
    const int room = std::min({k_, s_.n_ctx() - s_.n_past() - 1, req_.max_tokens - res_.n_generated});
    const bool speculate = req_.draft_bits > 0 && req_.draft_bits < bits && room >= 1;
    if (speculate) speculative_round(bits, room);
    else plain_step(bits);
    return !done_;
}

GenerateResult Generator::run() {
    while (step()) {
    }
    return res_;
}

void Generator::plain_step(int bits) {
    s_.eval(&pending_, 1, bits, &logits_, false);
    const int32_t id = sampler_.sample(logits_.data(), m_.cfg.n_vocab, history_);
    const auto now = Clock::now();
    const double dt = seconds(t_last_, now);
    t_last_ = now;
    if (governor_) governor_->observe(bits, dt);
    take(id, bits, false, -1, -1, dt);
}

void Generator::speculative_round(int bits, int k) {
    const int V = m_.cfg.n_vocab;
    const int n0 = s_.n_past();  // the cache ends before pending_
    const bool greedy = sampler_.greedy();
    // Draft: pending, d1 .. d(k-1) at the draft width propose d1 .. dk.
    std::vector<int32_t> batch{pending_};
    std::vector<int32_t> hist = history_;
    if (drafts_dist_.size() < size_t(k)) drafts_dist_.resize(size_t(k));
    std::vector<float> dl;
    for (int i = 0; i < k; ++i) {
        if (cancelled()) break;  // Stop answers within a token, mid-round too
        s_.eval(&batch.back(), 1, req_.draft_bits, &dl, false);
        int32_t d;
        if (greedy) {
            d = sampler_.sample(dl.data(), V, hist);
        } else {
            sampler_.distribution(dl.data(), V, hist, drafts_dist_[size_t(i)]);
            d = sampler_.draw(drafts_dist_[size_t(i)]);
        }
        batch.push_back(d);
        hist.push_back(d);
        if (m_.tok->is_eog(d)) break;  // nothing after an end of sequence is worth verifying
    }
    const int drafted = int(batch.size()) - 1;
    // Verify: pending and the drafts at the target width, every position's logits.
    s_.truncate(n0);
    std::vector<float> vl;
    s_.eval(batch.data(), int(batch.size()), bits, &vl, true);
    const auto now = Clock::now();
    const double round_s = seconds(t_last_, now);
    t_last_ = now;

    // Accept drafts while the target agrees; its own token ends the round.
    std::vector<int32_t> out;
    std::vector<bool> was_draft;
    int accepted = 0;
    for (int i = 0; i <= drafted; ++i) {
        const float* row = vl.data() + size_t(i) * V;
        hist.assign(history_.begin(), history_.end());
        hist.insert(hist.end(), out.begin(), out.end());
        if (i == drafted) {  // every draft accepted (or none drafted): the bonus token
            out.push_back(sampler_.sample(row, V, hist));
            was_draft.push_back(false);
            break;
        }
        const int32_t d = batch[size_t(i) + 1];
        if (greedy) {
            const int32_t t = sampler_.sample(row, V, hist);
            out.push_back(t);
            was_draft.push_back(t == d);
            if (t != d) break;
        } else {
            sampler_.distribution(row, V, hist, pd_);
            const std::optional<int32_t> c = judge(pd_, drafts_dist_[size_t(i)], d);
            out.push_back(c ? *c : d);
            was_draft.push_back(!c);
            if (c) break;
        }
        ++accepted;
    }
    res_.n_rounds++;
    res_.n_drafted += drafted;
    res_.n_accepted += accepted;
    // The cache keeps pending and the accepted drafts; the round's last token is the new pending.
    s_.truncate(n0 + 1 + accepted);
    if (governor_) governor_->observe(bits, round_s / double(out.size()));
    for (size_t j = 0; j < out.size(); ++j)
        if (!take(out[j], bits, was_draft[j], j + 1 == out.size() ? accepted : -1, j + 1 == out.size() ? drafted : -1,
                  round_s / double(out.size())))
            break;
    if (req_.adaptive_k) {
        if (accepted == drafted && drafted == k_) k_ = std::min(kMaxDraft, k_ + 1);
        else if (accepted < drafted) k_ = std::max(1, k_ - 1);
    }
}

// Leviathan et al. / Chen et al.: accept x ~ q with probability min(1, p(x) / q(x));
// otherwise draw from normalise(max(0, p - q)). The result is distributed as p.
std::optional<int32_t> Generator::judge(const TokenDist& p, const TokenDist& q, int32_t id) {
    double px = 0, qx = 0;
    for (size_t i = 0; i < p.ids.size(); ++i)
        if (p.ids[i] == id) px = p.prob(i);
    for (size_t i = 0; i < q.ids.size(); ++i)
        if (q.ids[i] == id) qx = q.prob(i);
    if (qx > 0 && sampler_.uniform() * qx < px) return std::nullopt;
    // Residual over p's support (where p - q can be positive).
    for (size_t i = 0; i < p.ids.size(); ++i) scratch_[size_t(p.ids[i])] = p.prob(i);
    for (size_t i = 0; i < q.ids.size(); ++i) scratch_[size_t(q.ids[i])] -= q.prob(i);
    qd_.clear();
    for (size_t i = 0; i < p.ids.size(); ++i) {
        const double r = scratch_[size_t(p.ids[i])];
        if (r > 0) {
            qd_.ids.push_back(p.ids[i]);
            qd_.w.push_back(r);
            qd_.total += r;
        }
    }
    for (size_t i = 0; i < p.ids.size(); ++i) scratch_[size_t(p.ids[i])] = 0;
    for (size_t i = 0; i < q.ids.size(); ++i) scratch_[size_t(q.ids[i])] = 0;
    if (qd_.ids.empty()) return sampler_.draw(p);  // p == q up to rounding: p itself
    return sampler_.draw(qd_);
}

bool Generator::take(int32_t id, int bits, bool drafted, int accepted, int proposed, double token_s) {
    if (!req_.ignore_eos && m_.tok->is_eog(id)) {
        finish(StopReason::Eos);
        return false;
    }
    history_.push_back(id);
    pending_ = id;
    res_.tokens.push_back(id);
    const int index = res_.n_generated++;
    auto wc = std::find_if(res_.width_counts.begin(), res_.width_counts.end(), [&](const auto& p) { return p.first >= bits; });
    if (wc == res_.width_counts.end() || wc->first != bits) wc = res_.width_counts.insert(wc, {bits, 0});
    wc->second++;
    text_ += utf8_.push(m_.tok->token_bytes(id));

    bool stopped = false;
    for (const auto& s : req_.stop) {
        const size_t at = s.empty() ? std::string::npos : text_.find(s, emitted_ > s.size() ? emitted_ - s.size() : 0);
        if (at != std::string::npos) {
            text_.resize(at);
            stopped = true;
        }
    }
    const size_t safe = stopped ? text_.size() : text_.size() - held_back(text_, req_.stop);
    std::string piece = safe > emitted_ ? text_.substr(emitted_, safe - emitted_) : std::string();
    emitted_ = std::max(emitted_, safe);
    last_bits_ = bits;
    if (on_token_) {
        TokenEvent ev;
        ev.id = id;
        ev.text = std::move(piece);
        ev.index = index;
        ev.bits = bits;
        ev.elapsed_s = seconds(t_start_, Clock::now());
        ev.token_s = token_s;
        ev.drafted = drafted;
        ev.accepted = accepted;
        ev.proposed = proposed;
        on_token_(ev);
    }
    if (stopped) finish(StopReason::StopString);
    else if (res_.n_generated >= req_.max_tokens) finish(StopReason::MaxTokens);
    return !done_;
}

void Generator::finish(StopReason why) {
    if (done_) return;
    done_ = true;
    res_.reason = why;
    // Bytes held back for a stop string that never came, or an unfinished UTF-8 sequence.
    text_ += utf8_.flush();
    if (why != StopReason::StopString && text_.size() > emitted_ && on_token_) {
        TokenEvent ev;
        ev.text = text_.substr(emitted_);
        ev.index = res_.n_generated;
        ev.bits = last_bits_;
        ev.elapsed_s = seconds(t_start_, Clock::now());
        on_token_(ev);
    }
    emitted_ = text_.size();
    res_.text = text_;
    if (res_.n_generated > 0) res_.decode_s = seconds(t_first_, t_last_);
}

}  // namespace ap

namespace ap {

GenerateResult Session::generate(const GenerateRequest& req, const std::function<void(const TokenEvent&)>& on_token) {
    return Generator(*this, req, on_token).run();
}

}  // namespace ap
