import Engine
import Generation
import Search
import Support
import Synchronization

/// Budgets and limits of a rollout. Defaults are the paper-era settings
/// (`max_turns` 2, 500 tokens per turn and per observation), with the
/// published 2048-token start and 4096-token context.
public struct RolloutConfig: Sendable, Equatable, Codable {
    /// Searches a trajectory may make; one final generation follows the last.
    public var maxTurns: Int = 2
    /// The prompt keeps at most its last this many tokens (the question is at the end).
    public var maxPromptTokens: Int = 2048
    public var maxTurnTokens: Int = 500
    /// An observation keeps its first tokens and always its closing tag.
    public var maxObservationTokens: Int = 500
    /// Prompt plus everything generated and observed.
    public var maxContextTokens: Int = 4096
    public var prompt = PolicyPrompt()
    /// Whether the engine sees the row's question and gold answers (training
    /// with a simulator) or only the query (evaluation).
    public var revealGoldAnswers = true
    /// Each trajectory on its own loop over one shared decoding batch: its
    /// search starts when its generation stops, and it rejoins the batch
    /// when its documents arrive (veRL's agent loop). Turn-synchronous when
    /// false: a turn's searches go out together once every row has stopped.
    /// Asynchronous runs do not depend on when the engine answers; they draw
    /// seeds and noise per trajectory, where turn by turn keeps the published
    /// order, so sampled tokens agree between the two only in distribution.
    public var asynchronous = false

    public init() {}

    public func validate() throws {
        try require(maxTurns >= 0, "RolloutConfig", "maxTurns must be ≥ 0, got \(maxTurns)")
        for (name, value) in [
            ("maxPromptTokens", maxPromptTokens), ("maxTurnTokens", maxTurnTokens),
            ("maxObservationTokens", maxObservationTokens), ("maxContextTokens", maxContextTokens),
        ] {
            try require(value > 0, "RolloutConfig", "\(name) must be positive, got \(value)")
        }
        try require(maxObservationTokens >= 16, "RolloutConfig", "maxObservationTokens must leave room for the tags (≥ 16)")
        try require(prompt.template.contains("{question}"), "RolloutConfig", "the prompt template has no {question}")
    }
}

/// A question to roll out, with the gold answers the simulator may see.
public struct RolloutRow: Sendable, Equatable, Codable {
    public var question: String
    public var goldAnswers: [String]
    /// Text for the template's `{context}` (retrieved documents, for RAG).
    public var context: String?

    public init(question: String, goldAnswers: [String], context: String? = nil) {
        self.question = question
        self.goldAnswers = goldAnswers
        self.context = context
    }
}

/// The text the policy reads after an unparseable turn (published verbatim).
public let invalidActionText =
    "\nMy previous action is invalid. If I want to search, I should put the query between <search> and </search>. If I want to give the final answer, I should put the answer between <answer> and </answer>. Let me try again.\n"

/// Runs the multi-turn search agent on a batch of questions.
///
/// Each generation runs until `</search>`, `</answer>`, an end-of-turn token
/// or its token budget; the generated tokens are kept exactly as sampled (no
/// decode and re-encode), so their log-probs stay valid. A generation's first
/// `<search>` or `<answer>` element is its action; one without either (even
/// one that ended its reply) reads the published invalid-action text and goes
/// on, as in the published loop. Each request carries its own row's question
/// and gold answers, and is useful or noisy with probability
/// `noiseProbability` from `rng`. After `maxTurns` searches a last
/// generation may answer; its search, if any, is not run. Turn-synchronous
/// (each turn's searches go to the engine as one batch) or asynchronous
/// (`config.asynchronous`).
public func rollout<Policy: RolloutPolicy>(
    _ rows: [RolloutRow], policy: Policy, engine: any SearchEngine, noiseProbability: Double,
    rng: inout RandomGenerator, config: RolloutConfig = RolloutConfig()
) async throws -> [Trajectory] {
    try config.validate()
    let state = RolloutState(rows: rows, policy: policy, config: config)
    if config.asynchronous {
        try await state.runAsynchronously(engine: engine, noiseProbability: noiseProbability, rng: &rng)
    } else {
        try await state.runTurnByTurn(engine: engine, noiseProbability: noiseProbability, rng: &rng)
    }
    return state.finished()
}

/// The trajectories of one rollout and the steps both schedules share.
private final class RolloutState<Policy: RolloutPolicy> {
    let rows: [RolloutRow]
    let policy: Policy
    let config: RolloutConfig
    var trajectories: [Trajectory]
    let contexts: [Policy.Context]
    /// Generations each trajectory has made.
    var turns: [Int]
    static var stopStrings: [String] { ["</search>", "</answer>"] }

    init(rows: [RolloutRow], policy: Policy, config: RolloutConfig) {
        self.rows = rows
        self.policy = policy
        self.config = config
        trajectories = rows.map { row in
            Trajectory(
                prompt: Array(
                    policy.promptTokens(config.prompt.render(question: row.question, context: row.context))
                        .suffix(config.maxPromptTokens)))
        }
        contexts = trajectories.map { policy.makeContext($0.tokens) }
        turns = Array(repeating: 0, count: rows.count)
    }

    /// Starts the row's next generation, or ends it when its context is full.
    /// Its sampling stream is the turn's with the row's `slot` in it.
    func begin(_ row: Int, slot: Int, in decoding: Policy.Decoding) throws -> Bool {
        let budget = min(config.maxTurnTokens, config.maxContextTokens - trajectories[row].tokens.count)
        guard budget > 0 else {
            trajectories[row].end = .contextFull
            return false
        }
        try decoding.add(contexts[row], id: row, maxNewTokens: budget, stream: UInt64(turns[row]) &* 0x1_0000_0001 &+ UInt64(slot))
        return true
    }

    enum Next {
        case ended
        case search(SearchRequest)
        /// An observation was appended: the row generates again.
        case generateAgain
    }

    /// Records a finished generation and says what the row does next; a
    /// search is useful or noisy by `kind`.
    func finish(_ row: Int, _ completion: Completion, kind: () -> DocumentKind) -> Next {
        let turn = turns[row]
        turns[row] += 1
        let text = policy.tokenizer.decode(completion.tokens, skipSpecialTokens: true)
        trajectories[row].appendGenerated(completion.tokens, logProbs: completion.logProbs, turn: turn)
        trajectories[row].generations.append(text)
        switch parseAction(text) {
        case .answer:
            trajectories[row].end = .answered
            return .ended
        case .search(let query) where turn < config.maxTurns:
            let source = rows[row]
            let kind = kind()
            return .search(
                config.revealGoldAnswers
                    ? SearchRequest(query: query, question: source.question, goldAnswers: source.goldAnswers, kind: kind)
                    : SearchRequest(query: query, kind: kind))
        case .search, .invalid:
            if turn == config.maxTurns {
                trajectories[row].end = .turnLimit
                return .ended
            }
            return observe(invalidActionText, row: row, turn: turn) ? .generateAgain : .ended
        }
    }

    /// Records a search's result; whether the row generates again.
    func receive(_ row: Int, _ request: SearchRequest, _ result: SearchResult) -> Bool {
        let turn = turns[row] - 1
        trajectories[row].searches.append(
            SearchCall(turn: turn, query: request.query, kind: request.kind, documents: result.text, failed: result.failed))
        return observe(informationText(result.text.trimmingPythonWhitespace()), row: row, turn: turn)
    }

    /// Appends an observation, cut to the observation budget with its closing
    /// tag kept, and to what is left of the context; a row without room for
    /// any of it ends.
    private func observe(_ text: String, row: Int, turn: Int) -> Bool {
        let room = min(config.maxObservationTokens, config.maxContextTokens - trajectories[row].tokens.count)
        let tokens = observationTokens(text, room: room) { policy.tokenizer.encode($0, addSpecialTokens: false) }
        guard !tokens.isEmpty else {
            trajectories[row].end = .contextFull
            return false
        }
        trajectories[row].appendObservation(tokens, turn: turn)
        policy.append(tokens, to: contexts[row])
        return true
    }

    /// Every unfinished row generates (sampling stream: its place among
    /// them); once all have stopped, the turn's searches go to the engine as
    /// one batch, drawn useful or noisy in row order.
    func runTurnByTurn(engine: any SearchEngine, noiseProbability: Double, rng: inout RandomGenerator) async throws {
        var active = Array(rows.indices)
        while !active.isEmpty {
            let decoding = try policy.makeDecoding(stopStrings: Self.stopStrings)
            var generating: [Int] = []
            for row in active where try begin(row, slot: generating.count, in: decoding) { generating.append(row) }
            active = generating
            let completions = try await computeOffPool { try decoding.finishAll() }
            var searching: [(row: Int, request: SearchRequest)] = []
            var again: [Int] = []
            for row in active {
                let next = finish(row, completions[row]!) { rng.uniformDouble() < noiseProbability ? .noisy : .useful }
                switch next {
                case .ended: break
                case .search(let request): searching.append((row, request))
                case .generateAgain: again.append(row)
                }
            }
            let results = searching.isEmpty ? [] : await engine.search(searching.map(\.request))
            for ((row, request), result) in zip(searching, results) where receive(row, request, result) {
                again.append(row)
            }
            active = again.sorted()
        }
    }

    /// One decoding batch for the whole rollout: the searches of the rows
    /// that stop in the same step go out together at once, and a row whose
    /// documents have arrived joins the next step. A row's sampling stream
    /// is its index, and its calls' kinds are drawn up front per turn, so
    /// the result does not depend on when the engine answers.
    func runAsynchronously(engine: any SearchEngine, noiseProbability: Double, rng: inout RandomGenerator) async throws {
        let kinds = rows.map { _ in
            (0..<config.maxTurns).map { _ -> DocumentKind in rng.uniformDouble() < noiseProbability ? .noisy : .useful }
        }
        let decoding = try policy.makeDecoding(stopStrings: Self.stopStrings)
        for row in rows.indices { _ = try begin(row, slot: row, in: decoding) }
        let inbox = SearchInbox()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = 0
            while true {
                let arrived = inbox.take()
                pending -= arrived.count
                for (row, request, result) in arrived where receive(row, request, result) {
                    _ = try begin(row, slot: row, in: decoding)
                }
                if decoding.isEmpty {
                    guard pending > 0 else { break }
                    // A search task ended; its results are in the inbox (or were read already).
                    _ = try await group.next()
                    continue
                }
                var searching: [(row: Int, request: SearchRequest)] = []
                for finished in try await computeOffPool({ try decoding.step() }) {
                    let row = finished.id
                    let turn = turns[row]
                    switch finish(row, finished.completion, kind: { kinds[row][turn] }) {
                    case .ended: break
                    case .search(let request): searching.append((row, request))
                    case .generateAgain: _ = try begin(row, slot: row, in: decoding)
                    }
                }
                guard !searching.isEmpty else { continue }
                pending += searching.count
                group.addTask { [searching] in
                    let results = await engine.search(searching.map(\.request))
                    inbox.put(zip(searching, results).map { ($0.row, $0.request, $1) })
                }
            }
        }
    }

    func finished() -> [Trajectory] {
        for index in trajectories.indices {
            trajectories[index].answer = extractAnswer(trajectories[index].generations.joined())
        }
        return trajectories
    }
}

/// Search results that arrived while the decoding batch was busy.
private final class SearchInbox: Sendable {
    private let items = Mutex<[(row: Int, request: SearchRequest, result: SearchResult)]>([])

    func put(_ arrived: [(row: Int, request: SearchRequest, result: SearchResult)]) { items.withLock { $0 += arrived } }

    func take() -> [(row: Int, request: SearchRequest, result: SearchResult)] {
        items.withLock { items in
            defer { items = [] }
            return items
        }
    }
}

/// An observation's tokens cut to `room`, its closing tag kept; none when
/// the tag alone does not fit.
public func observationTokens(_ text: String, room: Int, encode: (String) -> [Int32]) -> [Int32] {
    let tokens = encode(text)
    guard tokens.count > room else { return tokens }
    let closing = "</information>\n\n"
    guard text.hasSuffix(closing) else { return Array(tokens.prefix(room)) }
    let tail = encode(closing)
    // The closing tag is its own pre-token after the documents nearly
    // always, so the whole text's tokens end with it and hold the head's.
    let head =
        tokens.suffix(tail.count).elementsEqual(tail) ? tokens.dropLast(tail.count) : encode(String(text.dropLast(closing.count)))[...]
    return room > tail.count ? Array(head.prefix(room - tail.count)) + tail : []
}

/// The observation that follows a search (published form).
public func informationText(_ documents: String) -> String {
    "\n\n<information>" + documents + "</information>\n\n"
}
