import Engine
import Search
import Support

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
/// Each turn, every unfinished trajectory generates until `</search>`,
/// `</answer>`, an end-of-turn token or its token budget; the generated
/// tokens are kept exactly as sampled (no decode and re-encode), so their
/// log-probs stay valid. The turn's first `<search>` or `<answer>` element is
/// its action; a turn without one (even one that ended its reply) reads the
/// published invalid-action text and goes on, as in the published loop. All searches of a turn go to the engine as one batch, each
/// request carrying its own row's question and gold answers, and each drawn
/// useful or noisy with probability `noiseProbability` from `rng`. After
/// `maxTurns` searches a last generation may answer; its search, if any, is
/// not run.
public func rollout<Policy: RolloutPolicy>(
    _ rows: [RolloutRow], policy: Policy, engine: any SearchEngine, noiseProbability: Double,
    rng: inout RandomGenerator, config: RolloutConfig = RolloutConfig()
) async throws -> [Trajectory] {
    try config.validate()
    let tokenizer = policy.tokenizer
    var trajectories = rows.map { row in
        Trajectory(
            prompt: Array(
                policy.promptTokens(config.prompt.render(question: row.question, context: row.context))
                    .suffix(config.maxPromptTokens)))
    }
    let contexts = trajectories.map { policy.makeContext($0.tokens) }
    var active = Array(rows.indices)
    for turn in 0...config.maxTurns where !active.isEmpty {
        let budgets = active.map { min(config.maxTurnTokens, config.maxContextTokens - trajectories[$0].tokens.count) }
        for (row, budget) in zip(active, budgets) where budget <= 0 { trajectories[row].end = .contextFull }
        let generating = zip(active, budgets).filter { $0.1 > 0 }
        active = generating.map(\.0)
        guard !active.isEmpty else { break }
        let turnContexts = active.map { contexts[$0] }
        let limits = generating.map(\.1)
        let completions = try await computeOffPool {
            try policy.generate(turnContexts, maxNewTokens: limits, stopStrings: ["</search>", "</answer>"], call: turn)
        }
        var searching: [(row: Int, request: SearchRequest)] = []
        var stillActive: [Int] = []
        for (row, completion) in zip(active, completions) {
            let text = tokenizer.decode(completion.tokens, skipSpecialTokens: true)
            trajectories[row].appendGenerated(completion.tokens, logProbs: completion.logProbs, turn: turn)
            trajectories[row].generations.append(text)
            switch parseAction(text) {
            case .answer:
                trajectories[row].end = .answered
            case .search(let query) where turn < config.maxTurns:
                let kind: DocumentKind = rng.uniformDouble() < noiseProbability ? .noisy : .useful
                let source = rows[row]
                searching.append(
                    (
                        row,
                        config.revealGoldAnswers
                            ? SearchRequest(query: query, question: source.question, goldAnswers: source.goldAnswers, kind: kind)
                            : SearchRequest(query: query, kind: kind)
                    ))
            case .search, .invalid:
                if turn == config.maxTurns {
                    trajectories[row].end = .turnLimit
                } else {
                    observe(
                        invalidActionText, row: row, turn: turn, into: &trajectories, contexts: contexts,
                        policy: policy, config: config, active: &stillActive)
                }
            }
        }
        let results = searching.isEmpty ? [] : await engine.search(searching.map(\.request))
        for ((row, request), result) in zip(searching, results) {
            trajectories[row].searches.append(
                SearchCall(
                    turn: turn, query: request.query, kind: request.kind,
                    documents: result.text, failed: result.failed))
            observe(
                informationText(result.text.trimmingPythonWhitespace()), row: row, turn: turn, into: &trajectories,
                contexts: contexts, policy: policy, config: config, active: &stillActive)
        }
        active = stillActive.sorted()
    }
    for index in trajectories.indices {
        trajectories[index].answer = extractAnswer(trajectories[index].generations.joined())
    }
    return trajectories
}

/// The observation that follows a search (published form).
public func informationText(_ documents: String) -> String {
    "\n\n<information>" + documents + "</information>\n\n"
}

/// Appends an observation, cut to the observation budget with its closing
/// tag kept, and to what is left of the context; a row without room for
/// any of it ends.
private func observe<Policy: RolloutPolicy>(
    _ text: String, row: Int, turn: Int, into trajectories: inout [Trajectory], contexts: [Policy.Context],
    policy: Policy, config: RolloutConfig, active: inout [Int]
) {
    let room = min(config.maxObservationTokens, config.maxContextTokens - trajectories[row].tokens.count)
    var tokens = policy.tokenizer.encode(text, addSpecialTokens: false)
    if tokens.count > room {
        let closing = "</information>\n\n"
        let tail = text.hasSuffix(closing) ? policy.tokenizer.encode(closing, addSpecialTokens: false) : []
        let head = policy.tokenizer.encode(String(text.dropLast(tail.isEmpty ? 0 : closing.count)), addSpecialTokens: false)
        tokens = room > tail.count ? Array(head.prefix(room - tail.count)) + tail : []
    }
    guard !tokens.isEmpty else {
        trajectories[row].end = .contextFull
        return
    }
    trajectories[row].appendObservation(tokens, turn: turn)
    policy.append(tokens, to: contexts[row])
    active.append(row)
}
