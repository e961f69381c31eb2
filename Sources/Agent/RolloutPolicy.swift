import Generation
import Models
import Tokenizers

/// A policy the rollout can drive: it turns the instructions into prompt
/// tokens, keeps one context per trajectory, and decodes contexts together
/// in a batch they join and leave between forward passes.
public protocol RolloutPolicy: AnyObject {
    associatedtype Context
    associatedtype Decoding: RolloutDecoding where Decoding.Context == Context
    var tokenizer: any Tokenizer { get }
    /// The prompt's tokens: through the model's chat template when it has one.
    func promptTokens(_ instructions: String) -> [Int32]
    func makeContext(_ prompt: [Int32]) -> Context
    /// Adds tokens the policy did not generate (observations).
    func append(_ tokens: [Int32], to context: Context)
    /// A decoding batch whose generations stop at a stop string, an
    /// end-of-turn token or their token limit.
    func makeDecoding(stopStrings: [String]) throws -> Decoding
}

/// Generations in progress. Each `step` advances every one of them (a forward
/// pass) and returns those that stopped; their tokens are in their contexts.
public protocol RolloutDecoding: AnyObject {
    associatedtype Context
    /// Starts a generation of at most `maxNewTokens` tokens. `stream`
    /// numbers it within the rollout: its sampling depends on the policy's
    /// seed and `stream` only, never on the other generations in the batch.
    /// (Turn by turn, a generation's stream is its turn's with its place
    /// among that turn's rows; asynchronously, with its trajectory's index.)
    func add(_ context: Context, id: Int, maxNewTokens: Int, stream: UInt64) throws
    var isEmpty: Bool { get }
    func step() throws -> [(id: Int, completion: Completion)]
}

extension RolloutDecoding {
    /// Steps until every generation has stopped; the completions by id.
    public func finishAll() throws -> [Int: Completion] {
        var finished: [Int: Completion] = [:]
        while !isEmpty {
            for (id, completion) in try step() { finished[id] = completion }
        }
        return finished
    }
}

/// A model as the policy, sampling with its own settings. The trainer makes
/// a new one from the current weights every step.
public final class ModelPolicy: RolloutPolicy {
    public let inference: InferenceModel
    let bpe: BPETokenizer
    let chatTemplate: ChatTemplate
    let stopTokens: Set<Int32>
    public var sampling: SamplingParameters
    public var seed: UInt64

    public init(
        inference: InferenceModel, tokenizer: BPETokenizer, chatTemplate: ChatTemplate, stopTokens: Set<Int32>,
        sampling: SamplingParameters = SamplingParameters(), seed: UInt64 = 0
    ) {
        self.inference = inference
        bpe = tokenizer
        self.chatTemplate = chatTemplate
        self.stopTokens = stopTokens
        self.sampling = sampling
        self.seed = seed
    }

    public convenience init(model: LoadedModel, sampling: SamplingParameters = SamplingParameters(), seed: UInt64 = 0) throws {
        guard let inference = model.inference else { throw TokenizerError("the policy model was loaded without inference weights") }
        self.init(
            inference: inference, tokenizer: model.tokenizer, chatTemplate: model.chatTemplate, stopTokens: model.stopTokens,
            sampling: sampling, seed: seed)
    }

    public var tokenizer: any Tokenizer { bpe }

    /// Through the chat template as one user turn when the model has one, raw otherwise.
    public func promptTokens(_ instructions: String) -> [Int32] {
        guard chatTemplate.format != .raw else { return bpe.encode(instructions, addSpecialTokens: true) }
        return bpe.encode(chatTemplate.render([.user(instructions)]), addSpecialTokens: false)
    }

    public func makeContext(_ prompt: [Int32]) -> TokenSequence { TokenSequence(tokens: prompt, model: inference) }

    public func append(_ tokens: [Int32], to context: TokenSequence) { context.append(tokens) }

    public func makeDecoding(stopStrings: [String]) throws -> ModelDecoding {
        let tokenizer = bpe
        return ModelDecoding(
            batch: try DecodingBatch(
                model: inference,
                parameters: GenerationParameters(sampling: sampling, stopTokens: stopTokens, stopStrings: stopStrings),
                decode: { tokenizer.decode($0, skipSpecialTokens: false) }),
            seed: seed)
    }
}

/// A model policy's generations: one `DecodingBatch`.
public final class ModelDecoding: RolloutDecoding {
    let batch: DecodingBatch<Int>
    let seed: UInt64

    init(batch: DecodingBatch<Int>, seed: UInt64) {
        self.batch = batch
        self.seed = seed
    }

    public func add(_ context: TokenSequence, id: Int, maxNewTokens: Int, stream: UInt64) throws {
        try batch.add(context, id: id, maxNewTokens: maxNewTokens, seed: seed &+ stream)
    }

    public var isEmpty: Bool { batch.isEmpty }

    public func step() throws -> [(id: Int, completion: Completion)] { try batch.step() }
}
