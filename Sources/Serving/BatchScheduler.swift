import Dispatch
import Engine
import Foundation
import Generation
import Synchronization

/// How one generation request samples and when it stops.
public struct GenerationSettings: Sendable, Equatable {
    public var maxTokens: Int
    public var sampling: SamplingParameters
    public var seed: UInt64
    /// Texts that end the output; the output stops before the first one.
    public var stop: [String]
    /// Alternatives reported beside each token (`top_logprobs`); nil: no log-probabilities.
    public var topLogProbs: Int?

    public init(
        maxTokens: Int, sampling: SamplingParameters = SamplingParameters(), seed: UInt64 = 0, stop: [String] = [],
        topLogProbs: Int? = nil
    ) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.seed = seed
        self.stop = stop
        self.topLogProbs = topLogProbs
    }
}

/// How a generation ended.
public struct Finish: Sendable, Equatable {
    /// `stop`, `length`, `cancelled`, or `error: …`.
    public var reason: String
    public var promptTokens: Int
    public var completionTokens: Int
    /// The scheduler's step count (forward passes so far) when the request
    /// entered the batch and when it left: how long it waited and whom it ran beside.
    public var admittedStep: Int
    public var finishedStep: Int
}

/// What a generation sends back as it goes: text as soon as it is final
/// (never a piece of a stop string, never half a UTF-8 character), then why
/// it ended.
public enum GenerationEvent: Sendable, Equatable {
    case text(String, logProbs: [TokenLogProb])
    case finished(Finish)
}

/// One submitted generation.
public struct Generation: Sendable {
    public let id: UInt64
    public let events: AsyncStream<GenerationEvent>
    let scheduler: BatchScheduler

    public func cancel() { scheduler.cancel(id) }

    /// Everything a generation produced, read to its end.
    public struct Output: Sendable, Equatable {
        public var text = ""
        public var logProbs: [TokenLogProb] = []
        public var finish = Finish(reason: "cancelled", promptTokens: 0, completionTokens: 0, admittedStep: 0, finishedStep: 0)
        public var reason: String { finish.reason }
        public var completionTokens: Int { finish.completionTokens }
        public var promptTokens: Int { finish.promptTokens }
    }

    /// Reads the events to the end; cancelling the calling task cancels the generation.
    public func collect() async -> Output {
        await withTaskCancellationHandler {
            var output = Output()
            for await event in events {
                switch event {
                case .text(let text, let logProbs):
                    output.text += text
                    output.logProbs += logProbs
                case .finished(let finish):
                    output.finish = finish
                }
            }
            return output
        } onCancel: {
            cancel()
        }
    }
}

public enum SchedulerRefusal: Error, Equatable, Sendable {
    /// The waiting line is full: try again later (HTTP 429).
    case queueFull
    /// The server is shutting down (HTTP 503).
    case stopping
}

/// Continuous batching over one model: every step is one forward pass in
/// which each running request reads its newest token and newcomers read a
/// slice of their prompts, so a request that arrives while others decode
/// joins them at the next step instead of waiting for the batch to drain.
/// At most `maxBatch` requests run at once and `maxWaiting` wait; past that
/// a request is refused at once. A request whose consumer goes away
/// (`cancel`) leaves the batch at the next step. The loop runs on a thread
/// of its own: the forward pass is long compute and must not hold a thread
/// of Swift's concurrency pool.
public final class BatchScheduler: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Requests decoding together.
        public var maxBatch: Int
        /// Requests waiting while every slot is taken; one more is refused.
        public var maxWaiting: Int
        /// Prompt tokens read per step, over all newcomers (long prompts
        /// take several steps, so running requests keep their pace).
        public var prefillChunk: Int

        public init(maxBatch: Int = 16, maxWaiting: Int = 64, prefillChunk: Int = 512) {
            self.maxBatch = maxBatch
            self.maxWaiting = maxWaiting
            self.prefillChunk = prefillChunk
        }
    }

    /// A snapshot for `/metrics` and `/health`.
    public struct Load: Sendable, Equatable {
        public var running: Int
        public var waiting: Int
        public var generatedTokens: Int
        public var steps: Int
        /// Requests that ended cancelled: hung up, past their deadline, or cut at shutdown.
        public var cancelled: Int
    }

    let model: InferenceModel
    let decode: @Sendable ([Int32]) -> String
    let stopTokens: Set<Int32>
    let limits: Limits
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    private struct State {
        var waiting: [Job] = []
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
        var running = 0
        var stopping = false
        var cancelEverything = false
        var generatedTokens = 0
        var steps = 0
        var cancelledCount = 0
    }

    struct Job: @unchecked Sendable {
        let id: UInt64
        let prompt: [Int32]
        let settings: GenerationSettings
        let continuation: AsyncStream<GenerationEvent>.Continuation
    }

    public init(
        model: InferenceModel, stopTokens: Set<Int32>, limits: Limits = Limits(),
        decode: @escaping @Sendable ([Int32]) -> String
    ) {
        self.model = model
        self.stopTokens = stopTokens
        self.limits = limits
        self.decode = decode
        let thread = Thread { [self] in run() }
        thread.name = "zerosearch-serve-decode"
        thread.start()
    }

    public var load: Load {
        state.withLock {
            Load(
                running: $0.running, waiting: $0.waiting.count, generatedTokens: $0.generatedTokens, steps: $0.steps,
                cancelled: $0.cancelledCount)
        }
    }

    /// Queues a generation. Its events arrive on the returned handle; a
    /// consumer that goes away (`cancel`, or a cancelled reading task) takes
    /// the request out of the batch at the next step.
    public func submit(prompt: [Int32], settings: GenerationSettings) throws(SchedulerRefusal) -> Generation {
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self, bufferingPolicy: .unbounded)
        let id = try state.withLock { state throws(SchedulerRefusal) -> UInt64 in
            guard !state.stopping else { throw .stopping }
            // Free batch slots take newcomers at the next step; past those, `maxWaiting` may wait.
            guard state.waiting.count < limits.maxWaiting + max(0, limits.maxBatch - state.running) else { throw .queueFull }
            defer { state.nextID += 1 }
            state.waiting.append(Job(id: state.nextID, prompt: prompt, settings: settings, continuation: continuation))
            return state.nextID
        }
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(id) }
        }
        wake.signal()
        return Generation(id: id, events: stream, scheduler: self)
    }

    func cancel(_ id: UInt64) {
        state.withLock { _ = $0.cancelled.insert(id) }
        wake.signal()
    }

    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Refuses new requests from now on; those queued or running go on.
    public func stopAccepting() { state.withLock { $0.stopping = true } }

    /// Ends every queued and running request now, and any that are still
    /// submitted (each sees `finished` with reason `cancelled`): the end of a
    /// shutdown's grace period.
    public func cancelAll() {
        state.withLock {
            $0.stopping = true
            $0.cancelEverything = true
        }
        wake.signal()
    }

    // MARK: - The decode loop

    private final class Slot {
        let job: Job
        let sequence: TokenSequence
        var rng: RandomGenerator
        var generated: [Int32] = []
        var output = IncrementalText()
        var logProbs: [TokenLogProb] = []
        /// Unicode scalars of the output already sent.
        var sent = 0
        let stops: [[Unicode.Scalar]]
        /// Scalars held back while decoding: a possible start of a stop string.
        let heldBack: Int
        let admittedStep: Int

        init(job: Job, model: InferenceModel, step: Int) {
            self.job = job
            admittedStep = step
            sequence = TokenSequence(tokens: job.prompt, model: model)
            rng = RandomGenerator(seed: job.settings.seed)
            stops = job.settings.stop.map { Array($0.unicodeScalars) }
            heldBack = max(stops.map(\.count).max() ?? 0, 1) - 1
        }
    }

    private func run() {
        var slots: [Slot] = []
        var steps = 0
        while true {
            let (arrivals, dropped, isLeaving) = state.withLock { state in
                let everything = state.cancelEverything
                let cancelled = state.cancelled
                state.cancelled = []
                let isLeaving: @Sendable (UInt64) -> Bool = { everything || cancelled.contains($0) }
                let dropped = state.waiting.filter { isLeaving($0.id) }
                state.waiting.removeAll { isLeaving($0.id) }
                let staying = slots.count { !isLeaving($0.job.id) }
                let taken = Array(state.waiting.prefix(max(0, limits.maxBatch - staying)))
                state.waiting.removeFirst(taken.count)
                // Counted in the same lock that takes them off the line and
                // before anyone hears of an end: `load` is never behind what
                // a client has seen, and `submit` never finds a request in neither place.
                state.running = staying + taken.count
                state.cancelledCount += dropped.count
                return (taken, dropped, isLeaving)
            }
            for job in dropped {
                job.continuation.yield(
                    .finished(
                        Finish(
                            reason: "cancelled", promptTokens: job.prompt.count, completionTokens: 0, admittedStep: steps,
                            finishedStep: steps)))
                job.continuation.finish()
            }
            slots.removeAll { slot in
                guard isLeaving(slot.job.id) else { return false }
                finish(slot, reason: "cancelled", step: steps)
                return true
            }
            slots += arrivals.map { Slot(job: $0, model: model, step: steps) }
            if slots.isEmpty {
                wake.wait()
                continue
            }
            slots = step(slots, number: steps)
            steps += 1
        }
    }

    /// One forward pass: every decoding slot's newest token, and prompt
    /// slices of prefilling slots up to the chunk budget; then a token for
    /// each slot that has read everything. Returns the slots still running.
    private func step(_ slots: [Slot], number: Int) -> [Slot] {
        var budget = limits.prefillChunk
        var chunks: [(slot: Slot, tokens: [Int32])] = []
        for slot in slots {
            let unread = slot.sequence.tokens.count - slot.sequence.cache.count
            let isDecoding = !slot.generated.isEmpty
            let take = isDecoding ? unread : min(unread, budget)
            guard take > 0 else { continue }
            if !isDecoding { budget -= take }
            let start = slot.sequence.cache.count
            chunks.append((slot, Array(slot.sequence.tokens[start..<start + take])))
        }
        let logits: Tensor
        do {
            logits = try model.forward(chunks.map { ($0.slot.sequence.cache, $0.tokens) })
        } catch {
            state.withLock { $0.running = 0 }
            for slot in slots { finish(slot, reason: "error: \(error)", step: number) }
            return []
        }
        var produced = 0
        var running: [Slot] = []
        var ended: [(slot: Slot, reason: String)] = []
        let chunked = Set(chunks.map { ObjectIdentifier($0.slot) })
        for slot in slots where !chunked.contains(ObjectIdentifier(slot)) { running.append(slot) }
        for (row, chunk) in chunks.enumerated() {
            let slot = chunk.slot
            guard slot.sequence.cache.count == slot.sequence.tokens.count else {
                running.append(slot)
                continue
            }
            produced += 1
            if let reason = advance(slot, logits: logits.pointer + row * model.vocabularySize) {
                ended.append((slot, reason))
            } else {
                running.append(slot)
            }
        }
        state.withLock {
            $0.generatedTokens += produced
            $0.steps += 1
            $0.running = running.count
        }
        for (slot, reason) in ended { finish(slot, reason: reason, step: number) }
        return running
    }

    /// Samples the slot's next token, sends the text that is now final, and
    /// says why the slot ends, if it does.
    private func advance(_ slot: Slot, logits: UnsafePointer<Float>) -> String? {
        let settings = slot.job.settings
        let drawn = sampleToken(logits, count: model.vocabularySize, parameters: settings.sampling, rng: &slot.rng)
        slot.sequence.append([drawn.token])
        if let top = settings.topLogProbs {
            slot.logProbs.append(TokenLogProb(logits, count: model.vocabularySize, token: drawn.token, top: top))
        }
        let isStopToken = stopTokens.contains(drawn.token)
        if !isStopToken { slot.generated.append(drawn.token) }
        let searched = slot.output.scalars.count
        slot.output.update(slot.generated, decode: decode)
        let atLimit = slot.generated.count >= settings.maxTokens || slot.sequence.tokens.count >= model.config.maxPositions
        // Ending, the unfinished tail counts too (half a character as U+FFFD).
        let text = isStopToken || atLimit ? slot.output.final(slot.generated, decode: decode) : slot.output.scalars
        if let stop = firstStop(slot.stops, in: text, endingFrom: searched) {
            send(slot, upTo: stop, of: text)
            return "stop"
        }
        if isStopToken {
            send(slot, upTo: text.count, of: text)
            return "stop"
        }
        send(slot, upTo: max(slot.sent, text.count - (atLimit ? 0 : slot.heldBack)), of: text)
        return atLimit ? "length" : nil
    }

    private func send(_ slot: Slot, upTo end: Int, of text: [Unicode.Scalar]) {
        guard end > slot.sent else { return }
        var piece = String.UnicodeScalarView()
        piece.append(contentsOf: text[slot.sent..<end])
        slot.sent = end
        slot.job.continuation.yield(.text(String(piece), logProbs: slot.logProbs))
        slot.logProbs = []
    }

    private func finish(_ slot: Slot, reason: String, step: Int) {
        if reason == "cancelled" { state.withLock { $0.cancelledCount += 1 } }
        if !slot.logProbs.isEmpty { slot.job.continuation.yield(.text("", logProbs: slot.logProbs)) }
        slot.job.continuation.yield(
            .finished(
                Finish(
                    reason: reason, promptTokens: slot.job.prompt.count,
                    completionTokens: slot.sequence.tokens.count - slot.job.prompt.count, admittedStep: slot.admittedStep,
                    finishedStep: step)))
        slot.job.continuation.finish()
    }
}
