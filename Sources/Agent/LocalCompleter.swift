import Engine
import Generation
import Models
import Search
import Synchronization

/// A model in this process answering prompts. All prompts of a call decode
/// together as one batch, off Swift's concurrency pool (see `computeOffPool`);
/// a prompt starting like a recent one copies that prefix's keys and values
/// (`PromptCache`): a simulator's prompts share their instructions.
public final class LocalCompleter: TextCompleter {
    public let name: String
    let model: LoadedModel
    let parameters: GenerationParameters
    private let calls = Mutex<UInt64>(0)
    private let promptCache: PromptCache?

    /// Defaults follow the published simulator calls: 600 new tokens at temperature 0.8.
    public init(model: LoadedModel, maxTokens: Int = 600, temperature: Float = 0.8, seed: UInt64 = 0) {
        name = model.location.lastPathComponent
        self.model = model
        parameters = GenerationParameters(
            maxNewTokens: maxTokens, sampling: SamplingParameters(temperature: temperature),
            seed: seed, stopTokens: model.stopTokens)
        promptCache = model.inference.map { PromptCache(model: $0) }
    }

    public func completions(for prompts: [String]) async -> [Result<String, CompletionFailure>] {
        guard !prompts.isEmpty else { return [] }
        guard let inference = model.inference else {
            return prompts.map { _ in .failure(CompletionFailure("model not prepared for inference")) }
        }
        var parameters = parameters
        // Each call draws fresh randomness, reproducibly for a given seed.
        let call = calls.withLock { count in
            defer { count += 1 }
            return count
        }
        parameters.seed = parameters.seed &+ call &* 0x9E37_79B9
        let tokens = prompts.map { Self.promptTokens($0, model: model) }
        do {
            let completions = try await computeOffPool { [parameters, promptCache] in
                let sequences = tokens.map { promptCache?.sequence(for: $0) ?? TokenSequence(tokens: $0, model: inference) }
                let completions = try generate(sequences.map { GenerationRequest(sequence: $0) }, model: inference, parameters: parameters)
                promptCache?.keep(sequences, promptLengths: tokens.map(\.count))
                return completions
            }
            return completions.map { .success(model.tokenizer.decode($0.tokens, skipSpecialTokens: true)) }
        } catch {
            return prompts.map { _ in .failure(CompletionFailure("\(name): \(error)")) }
        }
    }

    /// The tokens of a simulator call: the published call sends an empty
    /// system message and the prompt as the user turn; a model without a
    /// chat format reads it raw. Simulator fine-tuning renders its prompts
    /// the same way.
    public static func promptTokens(_ prompt: String, model: LoadedModel) -> [Int32] {
        model.instructionTokens(prompt, system: "")
    }
}
