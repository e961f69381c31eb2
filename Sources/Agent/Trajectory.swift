import Search

/// One search the policy made: the query, whether the engine was asked for
/// noisy documents, what came back, and whether the call failed.
public struct SearchCall: Sendable, Equatable, Codable {
    public var turn: Int
    public var query: String
    public var kind: DocumentKind
    public var documents: String
    public var failed: Bool
}

/// Why a trajectory ended.
public enum TrajectoryEnd: String, Sendable, Equatable, Codable {
    /// The policy gave an answer.
    case answered
    /// The final generation after `maxTurns` searches gave none.
    case turnLimit
    /// The context budget ran out.
    case contextFull
}

/// One multi-turn rollout, token by token. Every array is aligned with
/// `tokens` (prompt first, then generated and observation tokens):
/// - `logProbs`: the sampler's log-probability of a generated token, 0 elsewhere;
/// - `lossMask`: 1 for tokens the policy generated, 0 for prompt and observation tokens;
/// - `turns`: the turn a token belongs to (an observation belongs to the turn
///   that asked for it), −1 for the prompt.
public struct Trajectory: Sendable, Equatable, Codable {
    public var tokens: [Int32]
    public var logProbs: [Float]
    public var lossMask: [UInt8]
    public var turns: [Int32]
    public var promptLength: Int
    /// The text of each generation, in order.
    public var generations: [String] = []
    public var searches: [SearchCall] = []
    /// The last `<answer>` of the policy's own text (never of the prompt or
    /// of documents), nil if there is none.
    public var answer: String?
    public var end: TrajectoryEnd = .turnLimit

    public init(prompt: [Int32]) {
        tokens = prompt
        logProbs = Array(repeating: 0, count: prompt.count)
        lossMask = Array(repeating: 0, count: prompt.count)
        turns = Array(repeating: -1, count: prompt.count)
        promptLength = prompt.count
    }

    public var responseLength: Int { tokens.count - promptLength }

    public mutating func appendGenerated(_ generated: [Int32], logProbs sampled: [Float], turn: Int) {
        tokens += generated
        logProbs += sampled
        lossMask += Array(repeating: 1, count: generated.count)
        turns += Array(repeating: Int32(turn), count: generated.count)
    }

    /// Marks the observations as trained too, keeping each token's turn;
    /// the sampler never produced them, so their recorded log-probs are 0.
    public mutating func trainOnObservations() {
        for index in promptLength..<tokens.count { lossMask[index] = 1 }
    }

    public mutating func appendObservation(_ observation: [Int32], turn: Int) {
        tokens += observation
        logProbs += Array(repeating: 0, count: observation.count)
        lossMask += Array(repeating: 0, count: observation.count)
        turns += Array(repeating: Int32(turn), count: observation.count)
    }
}
