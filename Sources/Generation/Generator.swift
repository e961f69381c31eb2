import Engine

/// One sequence's tokens and the cache of the ones the model has already
/// read. The cache may lag behind `tokens` (a freshly sampled token, or text
/// the caller appended); the next forward pass reads what it has not seen.
/// An agent continues a conversation by appending tokens and generating again.
public final class TokenSequence: @unchecked Sendable {
    public private(set) var tokens: [Int32]
    public let cache: KVCache

    public init(tokens: [Int32], model: InferenceModel) {
        self.tokens = tokens
        cache = model.makeCache(capacity: max(64, tokens.count * 2))
    }

    public func append(_ more: [Int32]) { tokens += more }

    var unread: ArraySlice<Int32> { tokens[cache.count...] }
}

public struct GenerationParameters: Sendable, Equatable, Codable {
    public var maxNewTokens: Int
    public var sampling: SamplingParameters
    /// Row `i` of a batch draws from its own generator seeded with `seed + i`,
    /// so a row's tokens do not depend on which other rows share its batch.
    public var seed: UInt64
    /// Tokens that end a row (included in its output, as the end-of-sequence
    /// token of an RL response is).
    public var stopTokens: Set<Int32>
    /// Texts that end a row as soon as the decoded output contains one; they
    /// may span several tokens. The token that completes the match is the
    /// row's last.
    public var stopStrings: [String]
    /// At most this many prompt tokens go through one forward pass.
    public var prefillChunk: Int

    public init(
        maxNewTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(), seed: UInt64 = 0,
        stopTokens: Set<Int32> = [], stopStrings: [String] = [], prefillChunk: Int = 2048
    ) {
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.seed = seed
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
        self.prefillChunk = prefillChunk
    }
}

public enum FinishReason: Sendable, Equatable {
    case stopToken(Int32)
    case stopString(String)
    case length
}

/// What one row produced: the new tokens, each token's log-probability (see
/// `SampledToken`), and why it stopped.
public struct Completion: Sendable, Equatable {
    public var tokens: [Int32]
    public var logProbs: [Float]
    public var finishReason: FinishReason

    public init(tokens: [Int32], logProbs: [Float], finishReason: FinishReason) {
        self.tokens = tokens
        self.logProbs = logProbs
        self.finishReason = finishReason
    }
}

/// A generation request: a sequence to extend and, optionally, its own limit
/// and its own seed (default: the parameters' seed plus its index).
public struct GenerationRequest {
    public var sequence: TokenSequence
    public var maxNewTokens: Int?
    public var seed: UInt64?

    public init(sequence: TokenSequence, maxNewTokens: Int? = nil, seed: UInt64? = nil) {
        self.sequence = sequence
        self.maxNewTokens = maxNewTokens
        self.seed = seed
    }
}

/// Batched generation: every request's unread tokens are prefilled (packed
/// together, without padding), then all unfinished rows step together, one
/// token each per forward pass; a row that stops leaves the batch at once.
///
/// `decode` turns token ids into text and is needed only for stop strings.
public func generate(
    _ requests: [GenerationRequest], model: InferenceModel, parameters: GenerationParameters,
    decode: (([Int32]) -> String)? = nil
) throws -> [Completion] {
    let batch = try DecodingBatch<Int>(model: model, parameters: parameters, decode: decode)
    for (i, request) in requests.enumerated() {
        try require(!requests[..<i].contains { $0.sequence === request.sequence }, "generate", "request \(i) repeats a sequence")
        try batch.add(
            request.sequence, id: i, maxNewTokens: request.maxNewTokens ?? parameters.maxNewTokens,
            seed: request.seed ?? parameters.seed &+ UInt64(i))
    }
    let completions = try batch.finishAll()
    return requests.indices.map { completions[$0]! }
}

/// Continuous batching driven by its caller: sequences join between forward
/// passes and leave as soon as they finish. Each `step` is one forward pass
/// in which every decoding sequence reads its newest token and newcomers
/// read their unread tokens (at most `prefillChunk` of them in all, so a
/// long newcomer takes several passes), then each sequence that has read
/// everything samples its next token from its own generator: what a
/// sequence writes never depends on who shares its passes. An agent's
/// trajectory rejoins with its observation appended while others decode.
/// Newcomers with the same tokens and nothing read yet (a GRPO group's
/// copies of one prompt) are read once: the others take that sequence's
/// cache and sample from its logits with their own generators.
public final class DecodingBatch<ID> {
    private final class Row {
        let id: ID
        let sequence: TokenSequence
        let limit: Int
        var rng: RandomGenerator
        var completion = Completion(tokens: [], logProbs: [], finishReason: .length)

        init(id: ID, sequence: TokenSequence, limit: Int, seed: UInt64) {
            self.id = id
            self.sequence = sequence
            self.limit = limit
            rng = RandomGenerator(seed: seed)
        }
    }

    let model: InferenceModel
    let parameters: GenerationParameters
    let decode: (([Int32]) -> String)?
    /// Enough trailing tokens to contain any stop string (a token is at least one byte).
    let stopWindow: Int
    private var rows: [Row] = []
    /// Requests for no tokens at all: they finish at the next step without a pass.
    private var empty: [ID] = []
    /// Tokens the forward passes have read so far (a shared prompt counts once).
    public private(set) var tokensRead = 0

    public init(model: InferenceModel, parameters: GenerationParameters, decode: (([Int32]) -> String)? = nil) throws {
        try parameters.sampling.validate()
        try require(parameters.prefillChunk > 0, "generate", "prefillChunk must be positive")
        try require(parameters.stopStrings.isEmpty || decode != nil, "generate", "stop strings need a decoder")
        try require(parameters.stopStrings.allSatisfy { !$0.isEmpty }, "generate", "a stop string is empty")
        self.model = model
        self.parameters = parameters
        self.decode = decode
        stopWindow = (parameters.stopStrings.map(\.utf8.count).max() ?? 0) + 4
    }

    /// Whether no sequence is generating and no finished request waits to be returned.
    public var isEmpty: Bool { rows.isEmpty && empty.isEmpty }

    /// Adds a sequence to continue from its unread tokens, for at most
    /// `maxNewTokens` tokens, sampling with a generator seeded by `seed`.
    public func add(_ sequence: TokenSequence, id: ID, maxNewTokens: Int, seed: UInt64) throws {
        try require(!sequence.unread.isEmpty, "generate", "a request has no unread tokens to continue from")
        try require(!rows.contains { $0.sequence === sequence }, "generate", "a sequence is already generating")
        if maxNewTokens > 0 {
            rows.append(Row(id: id, sequence: sequence, limit: maxNewTokens, seed: seed))
        } else {
            empty.append(id)
        }
    }

    /// One forward pass and a token for each sequence that has read
    /// everything; returns the generations that ended, in the order they joined.
    public func step() throws -> [(id: ID, completion: Completion)] {
        var finished = empty.map { (id: $0, completion: Completion(tokens: [], logProbs: [], finishReason: .length)) }
        empty = []
        guard !rows.isEmpty else { return finished }
        var budget = parameters.prefillChunk
        var reading: [(row: Row, tokens: [Int32])] = []
        // Fresh sequences by their tokens: the first reads, the rest follow it.
        var leaders: [[Int32]: Row] = [:]
        var followers: [ObjectIdentifier: [Row]] = [:]
        for row in rows {
            let decoding = !row.completion.tokens.isEmpty
            if !decoding && row.sequence.cache.count == 0 {
                if let leader = leaders[row.sequence.tokens] {
                    followers[ObjectIdentifier(leader), default: []].append(row)
                    continue
                }
                leaders[row.sequence.tokens] = row
            }
            let take = decoding ? row.sequence.unread.count : min(row.sequence.unread.count, budget)
            guard take > 0 else { continue }
            if !decoding { budget -= take }
            reading.append((row, Array(row.sequence.unread.prefix(take))))
        }
        let logits = try model.forward(reading.map { ($0.row.sequence.cache, $0.tokens) })
        tokensRead += reading.reduce(0) { $0 + $1.tokens.count }
        var sampling: [(row: Row, logits: Int)] = []
        for (index, item) in reading.enumerated() where item.row.sequence.unread.isEmpty {
            sampling.append((item.row, index))
            for follower in followers[ObjectIdentifier(item.row)] ?? [] {
                follower.sequence.cache.replicate(item.row.sequence.cache)
                sampling.append((follower, index))
            }
        }
        var ended = Set<ObjectIdentifier>()
        for (row, index) in sampling {
            let drawn = sampleToken(
                logits.pointer + index * model.vocabularySize, count: model.vocabularySize, parameters: parameters.sampling,
                rng: &row.rng)
            row.sequence.append([drawn.token])
            row.completion.tokens.append(drawn.token)
            row.completion.logProbs.append(drawn.logProb)
            if parameters.stopTokens.contains(drawn.token) {
                row.completion.finishReason = .stopToken(drawn.token)
            } else if let decode, !parameters.stopStrings.isEmpty,
                let stop = matchedStop(parameters.stopStrings, in: decode(Array(row.completion.tokens.suffix(stopWindow))))
            {
                row.completion.finishReason = .stopString(stop)
            } else if row.completion.tokens.count >= row.limit {
                row.completion.finishReason = .length
            } else {
                continue
            }
            ended.insert(ObjectIdentifier(row))
        }
        finished += rows.filter { ended.contains(ObjectIdentifier($0)) }.map { ($0.id, $0.completion) }
        rows.removeAll { ended.contains(ObjectIdentifier($0)) }
        return finished
    }
}

extension DecodingBatch where ID: Hashable {
    /// Steps until every generation has ended; the completions by id.
    public func finishAll() throws -> [ID: Completion] {
        var finished: [ID: Completion] = [:]
        while !isEmpty {
            for (id, completion) in try step() { finished[id] = completion }
        }
        return finished
    }
}

private func matchedStop(_ stops: [String], in text: String) -> String? {
    stops.first { text.contains($0) }
}
