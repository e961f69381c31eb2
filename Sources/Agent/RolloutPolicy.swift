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

/// A loaded model as the policy, sampling with its own settings.
public final class ModelPolicy: RolloutPolicy {
    public let model: LoadedModel
    public var sampling: SamplingParameters
    public var seed: UInt64
    let inference: InferenceModel

    public init(model: LoadedModel, sampling: SamplingParameters = SamplingParameters(), seed: UInt64 = 0) throws {
        guard let inference = model.inference else { throw TokenizerError("the policy model was loaded without inference weights") }
        self.model = model
        self.sampling = sampling
        self.seed = seed
        self.inference = inference
    }

    public var tokenizer: any Tokenizer { model.tokenizer }

    public func promptTokens(_ instructions: String) -> [Int32] {
        model.promptTokens(instructions, chat: model.chatTemplate.format != .raw)
    }

    public func makeContext(_ prompt: [Int32]) -> TokenSequence { TokenSequence(tokens: prompt, model: inference) }

    public func append(_ tokens: [Int32], to context: TokenSequence) { context.append(tokens) }

    public func generate(_ contexts: [TokenSequence], maxNewTokens: [Int], stopStrings: [String], call: Int) throws -> [Completion] {
        let parameters = GenerationParameters(sampling: sampling, seed: seed &+ UInt64(call) &* 0x1_0000_0001,
                                              stopTokens: model.stopTokens, stopStrings: stopStrings)
        let requests = zip(contexts, maxNewTokens).map { GenerationRequest(sequence: $0, maxNewTokens: $1) }
        let tokenizer = model.tokenizer
        return try Generation.generate(requests, model: inference, parameters: parameters) {
            tokenizer.decode($0, skipSpecialTokens: false)
        }
    }
}
