#include "engine_controller.h"

namespace studio {

EngineController::EngineController(BackendFactory factory, QObject* parent) : QObject(parent) {
    registerStudioTypes();
    worker_ = new EngineWorker(std::move(factory));
    worker_->moveToThread(&thread_);
    thread_.setObjectName(QStringLiteral("engine"));
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);

    const auto q = Qt::QueuedConnection;
    connect(this, &EngineController::requestLoad, worker_, &EngineWorker::loadModel, q);
    connect(this, &EngineController::requestGenerate, worker_, &EngineWorker::generate, q);
    connect(this, &EngineController::requestCompare, worker_, &EngineWorker::compare, q);
    connect(this, &EngineController::requestPerplexity, worker_, &EngineWorker::computePerplexity, q);
    connect(this, &EngineController::requestQuantize, worker_, &EngineWorker::quantize, q);
    connect(this, &EngineController::requestConfigure, worker_, &EngineWorker::configure, q);
    connect(this, &EngineController::requestCount, worker_, &EngineWorker::countTokens, q);
    connect(worker_, &EngineWorker::tokensCounted, this, &EngineController::tokensCounted, q);
    connect(worker_, &EngineWorker::configured, this, [this](const ModelInfo& info, const QString& err) {
        if (!err.isEmpty()) {
            emit configureFailed(err);
            return;
        }
        if (!info.isValid()) return;  // no model yet: the settings apply at the next load
        model_ = info;
        emit runtimeChanged(model_);
    }, q);

    connect(worker_, &EngineWorker::modelLoaded, this, &EngineController::onModelLoaded, q);
    connect(worker_, &EngineWorker::loadProgress, this, &EngineController::loadProgress, q);
    connect(worker_, &EngineWorker::loadFailed, this, [this](const QString& path, const QString& err) {
        loading_ = false;
        emit loadFailed(path, err);
    }, q);
    connect(worker_, &EngineWorker::generationFinished, this, [this](quint64 id, const GenerationSummary& s) {
        emit generationFinished(id, s);
        onChatEnded(id);
    }, q);
    connect(worker_, &EngineWorker::generationFailed, this, [this](quint64 id, const QString& err) {
        emit generationFailed(id, err);
        onChatEnded(id);
    }, q);
    // Pure pass-through signals: queued onto the GUI thread.
    connect(worker_, &EngineWorker::tokenReady, this, &EngineController::tokenReady, q);
    connect(worker_, &EngineWorker::compareToken, this, &EngineController::compareToken, q);
    connect(worker_, &EngineWorker::compareColumnFinished, this, &EngineController::compareColumnFinished, q);
    connect(worker_, &EngineWorker::compareFinished, this, &EngineController::compareFinished, q);
    connect(worker_, &EngineWorker::perplexityProgress, this, &EngineController::perplexityProgress, q);
    connect(worker_, &EngineWorker::perplexityReady, this, &EngineController::perplexityReady, q);
    connect(worker_, &EngineWorker::perplexityFinished, this, &EngineController::perplexityFinished, q);
    connect(worker_, &EngineWorker::quantizeProgress, this, &EngineController::quantizeProgress, q);
    connect(worker_, &EngineWorker::quantizeFinished, this, [this](const QuantizeOutcome& o) {
        quantizing_ = false;
        emit quantizeFinished(o);
    }, q);
    thread_.start();
}

EngineController::~EngineController() {
    // Ask every running job to stop so the thread can finish promptly.
    for (auto* c : {&chatControls_, &compareControls_, &pplControls_, &quantControls_})
        if (*c) (*c)->cancel = true;
    thread_.quit();
    thread_.wait();
}

void EngineController::loadModel(const QString& path) {
    loading_ = true;
    stopGeneration();  // the old model goes away; nothing may keep running on it
    stopCompare();
    cancelPerplexity();
    emit requestLoad(path);
}

void EngineController::onModelLoaded(const ModelInfo& info) {
    loading_ = false;
    model_ = info;
    emit modelChanged(model_);
}

quint64 EngineController::generate(const QList<ChatTurn>& turns, const SamplingSettings& s, int bits, int draftBits,
                                   double targetTps) {
    GenerationRequest req;
    req.id = nextId_++;
    req.turns = turns;
    req.sampling = s;
    req.bits = bits;
    req.draftBits = draftBits;
    req.targetTps = targetTps;
    req.controls = std::make_shared<GenerationControls>();
    req.controls->liveBits = bits;
    liveBits_ = bits;
    chatControls_ = req.controls;
    activeChat_ = req.id;
    emit busyChanged(true);
    emit requestGenerate(req);
    return req.id;
}

void EngineController::onChatEnded(quint64 id) {
    if (id != activeChat_) return;
    activeChat_ = 0;
    emit busyChanged(false);
}

quint64 EngineController::compare(const QList<ChatTurn>& turns, const SamplingSettings& s, const QList<int>& widths) {
    CompareRequest req;
    req.id = nextId_++;
    req.turns = turns;
    req.sampling = s;
    req.widths = widths;
    req.controls = std::make_shared<GenerationControls>();
    compareControls_ = req.controls;
    emit requestCompare(req);
    return req.id;
}

quint64 EngineController::computePerplexity(const QString& textPath, const QList<int>& widths, bool includeSource,
                                            int maxWindows) {
    PerplexityRequest req;
    req.id = nextId_++;
    req.textPath = textPath;
    req.widths = widths;
    req.includeSource = includeSource;
    req.maxWindows = maxWindows;
    if (includeSource) req.widths.prepend(-1);  // -1: the source model of the checkpoint
    req.controls = std::make_shared<GenerationControls>();
    pplControls_ = req.controls;
    emit requestPerplexity(req);
    return req.id;
}

void EngineController::quantize(const QuantizeSettings& s) {
    QuantizeJob job{s, std::make_shared<GenerationControls>()};
    quantControls_ = job.controls;
    quantizing_ = true;
    emit requestQuantize(job);
}

void EngineController::configure(const RuntimeSettings& r) {
    runtime_ = r;
    emit requestConfigure(r);
}

quint64 EngineController::countTokens(const QList<ChatTurn>& turns) {
    const quint64 id = nextId_++;
    emit requestCount(id, turns);
    return id;
}

void EngineController::setLiveBits(int bits) {
    liveBits_ = bits;
    if (chatControls_) chatControls_->liveBits = bits;
}

void EngineController::stopGeneration() {
    if (chatControls_) chatControls_->cancel = true;
}

void EngineController::stopCompare() {
    if (compareControls_) compareControls_->cancel = true;
}

void EngineController::cancelPerplexity() {
    if (pplControls_) pplControls_->cancel = true;
}

void EngineController::cancelQuantize() {
    if (quantControls_) quantControls_->cancel = true;
}

}  // namespace studio
