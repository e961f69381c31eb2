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

/// A generation request: a sequence to extend and, optionally, its own limit.
public struct GenerationRequest {
    public var sequence: TokenSequence
    public var maxNewTokens: Int?

    public init(sequence: TokenSequence, maxNewTokens: Int? = nil) {
        self.sequence = sequence
        self.maxNewTokens = maxNewTokens
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
    try parameters.sampling.validate()
    try require(parameters.prefillChunk > 0, "generate", "prefillChunk must be positive")
    try require(parameters.stopStrings.isEmpty || decode != nil, "generate", "stop strings need a decoder")
    try require(parameters.stopStrings.allSatisfy { !$0.isEmpty }, "generate", "a stop string is empty")
    let sequences = requests.map(\.sequence)
    for (i, sequence) in sequences.enumerated() {
        try require(!sequence.unread.isEmpty, "generate", "request \(i) has no unread tokens to continue from")
        try require(!sequences[..<i].contains { $0 === sequence }, "generate", "request \(i) repeats a sequence")
    }
    let limits = requests.map { $0.maxNewTokens ?? parameters.maxNewTokens }
    var completions = requests.map { _ in Completion(tokens: [], logProbs: [], finishReason: .length) }
    var generators = requests.indices.map { RandomGenerator(seed: parameters.seed &+ UInt64($0)) }
    // Enough trailing tokens to contain any stop string (a token is at least one byte).
    let stopWindow = (parameters.stopStrings.map(\.utf8.count).max() ?? 0) + 4

    // Prefill gives every request a logits row; each decode step gives one per
    // request still active, in `active` order.
    var logits = try prefill(sequences, model: model, chunk: parameters.prefillChunk)
    var active = requests.indices.filter { limits[$0] > 0 }
    var logitRows = active
    while !active.isEmpty {
        var stillActive: [Int] = []
        for (request, logitRow) in zip(active, logitRows) {
            let row = logits.pointer + logitRow * model.vocabularySize
            let drawn = sampleToken(row, count: model.vocabularySize, parameters: parameters.sampling, rng: &generators[request])
            sequences[request].append([drawn.token])
            completions[request].tokens.append(drawn.token)
            completions[request].logProbs.append(drawn.logProb)
            if parameters.stopTokens.contains(drawn.token) {
                completions[request].finishReason = .stopToken(drawn.token)
            } else if let decode, !parameters.stopStrings.isEmpty,
                let stop = matchedStop(parameters.stopStrings, in: decode(Array(completions[request].tokens.suffix(stopWindow))))
            {
                completions[request].finishReason = .stopString(stop)
            } else if completions[request].tokens.count >= limits[request] {
                completions[request].finishReason = .length
            } else {
                stillActive.append(request)
            }
        }
        active = stillActive
        if active.isEmpty { break }
        logits = try model.forward(active.map { (sequences[$0].cache, Array(sequences[$0].unread)) })
        logitRows = Array(active.indices)
    }
    return completions
}

private func matchedStop(_ stops: [String], in text: String) -> String? {
    stops.first { text.contains($0) }
}

/// Reads every sequence's unread tokens, at most `chunk` tokens per forward
/// pass, and returns the next-token logits of each sequence, in order.
func prefill(_ sequences: [TokenSequence], model: InferenceModel, chunk: Int) throws -> Tensor {
    let vocabulary = model.vocabularySize
    let result = Tensor(uninitialized: [sequences.count, vocabulary])
    var pending = Array(sequences.indices)
    while !pending.isEmpty {
        var budget = chunk
        var batch: [(index: Int, tokens: [Int32])] = []
        for index in pending where budget > 0 {
            let piece = Array(sequences[index].unread.prefix(budget))
            budget -= piece.count
            batch.append((index, piece))
        }
        let logits = try model.forward(batch.map { (sequences[$0.index].cache, $0.tokens) })
        for (row, item) in batch.enumerated() where sequences[item.index].unread.isEmpty {
            (result.pointer + item.index * vocabulary).update(from: logits.pointer + row * vocabulary, count: vocabulary)
        }
        pending.removeAll { sequences[$0].unread.isEmpty }
    }
    return result
}
