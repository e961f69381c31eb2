import Generation
import Models
import Tokenizers

/// A policy the rollout can drive: it turns the instructions into prompt
/// tokens, keeps one context per trajectory, and extends a batch of contexts
/// by one generation each.
public protocol RolloutPolicy: AnyObject {
    associatedtype Context
    var tokenizer: any Tokenizer { get }
    /// The prompt's tokens: through the model's chat template when it has one.
    func promptTokens(_ instructions: String) -> [Int32]
    func makeContext(_ prompt: [Int32]) -> Context
    /// Adds tokens the policy did not generate (observations).
    func append(_ tokens: [Int32], to context: Context)
    /// Generates for every context at once, stopping each at a stop string,
    /// an end-of-turn token or its token limit; the generated tokens are
    /// added to the contexts. `call` numbers the calls within a rollout, for
    /// reproducible sampling.
    func generate(_ contexts: [Context], maxNewTokens: [Int], stopStrings: [String], call: Int) throws -> [Completion]
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

    public func generate(_ contexts: [TokenSequence], maxNewTokens: [Int], stopStrings: [String], call: Int) throws -> [Completion] {
        let parameters = GenerationParameters(
            sampling: sampling, seed: seed &+ UInt64(call) &* 0x1_0000_0001,
            stopTokens: stopTokens, stopStrings: stopStrings)
        let requests = zip(contexts, maxNewTokens).map { GenerationRequest(sequence: $0, maxNewTokens: $1) }
        let tokenizer = bpe
        return try Generation.generate(requests, model: inference, parameters: parameters) {
            tokenizer.decode($0, skipSpecialTokens: false)
        }
    }
}
