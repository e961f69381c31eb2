import Generation
import Models

/// A model in this process answering prompts. Calls are serialised (the
/// actor) because generation already uses every core; within a call all
/// prompts decode together as one batch.
public actor LocalCompleter: TextCompleter {
    public nonisolated let name: String
    let model: LoadedModel
    let parameters: GenerationParameters
    private var calls: UInt64 = 0

    /// Defaults follow the published simulator calls: 600 new tokens at temperature 0.8.
    public init(model: LoadedModel, maxTokens: Int = 600, temperature: Float = 0.8, seed: UInt64 = 0) {
        name = model.location.lastPathComponent
        self.model = model
        parameters = GenerationParameters(maxNewTokens: maxTokens, sampling: SamplingParameters(temperature: temperature),
                                          seed: seed, stopTokens: model.stopTokens)
    }

    public func completions(for prompts: [String]) async -> [Result<String, CompletionFailure>] {
        guard !prompts.isEmpty else { return [] }
        guard let inference = model.inference else { return prompts.map { _ in .failure(CompletionFailure("model not prepared for inference")) } }
        var parameters = parameters
        // Each call draws fresh randomness, reproducibly for a given seed.
        parameters.seed = parameters.seed &+ calls &* 0x9E37_79B9
        calls += 1
        let requests = prompts.map { prompt in
            GenerationRequest(sequence: TokenSequence(tokens: chatTokens(prompt), model: inference))
        }
        do {
            let completions = try generate(requests, model: inference, parameters: parameters)
            return completions.map { .success(model.tokenizer.decode($0.tokens, skipSpecialTokens: true)) }
        } catch {
            return prompts.map { _ in .failure(CompletionFailure("\(name): \(error)")) }
        }
    }

    /// The published simulator call sends an empty system message and the
    /// prompt as the user turn; a model without a chat format reads it raw.
    private func chatTokens(_ prompt: String) -> [Int32] {
        guard model.chatTemplate.format != .raw else { return model.tokenizer.encode(prompt, addSpecialTokens: true) }
        return model.tokenizer.encode(model.chatTemplate.render([.system(""), .user(prompt)]), addSpecialTokens: false)
    }
}
