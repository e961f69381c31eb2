import Foundation
import Generation
import Models
import Search
import Support

/// A model behind the server: its tokenizer and chat template, and the
/// continuous-batching scheduler that every request (and the in-process
/// simulator engine) decodes through.
public final class ServedModel: Sendable {
    public let name: String
    public let model: LoadedModel
    public let scheduler: BatchScheduler
    let created = Int(Date().timeIntervalSince1970)

    public init(_ model: LoadedModel, name: String, limits: BatchScheduler.Limits) throws {
        guard let inference = model.inference else {
            throw InvalidInput(place: "serve", problem: "\(name) is not prepared for inference")
        }
        self.name = name
        self.model = model
        let tokenizer = model.tokenizer
        scheduler = BatchScheduler(model: inference, stopTokens: model.stopTokens, limits: limits) {
            tokenizer.decode($0, skipSpecialTokens: true)
        }
    }

    var contextLength: Int { model.decoder.config.maxPositions }

    /// A chat rendered with the model's template, ready for the assistant's turn.
    func tokens(chat messages: [ChatMessage]) -> [Int32] {
        guard model.chatTemplate.format != .raw else {
            return model.tokenizer.encode(messages.map(\.content).joined(separator: "\n"), addSpecialTokens: true)
        }
        return model.chatTokens(messages)
    }

    func tokens(prompt: CompletionRequest.PromptInput) throws(APIError) -> [Int32] {
        switch prompt {
        case .text(let text): return model.tokenizer.encode(text, addSpecialTokens: true)
        case .tokens(let ids):
            let vocabulary = model.decoder.config.vocabSize
            guard ids.allSatisfy({ $0 >= 0 && Int($0) < vocabulary }) else {
                throw APIError("'prompt' holds a token id outside the vocabulary (0..<\(vocabulary))", param: "prompt")
            }
            return ids
        }
    }

    func text(_ tokens: [Int32]) -> String { model.tokenizer.decode(tokens, skipSpecialTokens: true) }
    func piece(_ token: Int32) -> String { model.tokenizer.decode([token], skipSpecialTokens: false) }
}

/// Prompts answered by the served model through its scheduler, batched with
/// the HTTP requests: the simulator engine behind `--engine sim` costs no
/// second copy of the model.
struct ScheduledCompleter: TextCompleter {
    let served: ServedModel
    let maxTokens: Int
    let temperature: Float

    var name: String { served.name }

    func completions(for prompts: [String]) async -> [Result<String, CompletionFailure>] {
        await concurrentMap(prompts, limit: max(prompts.count, 1)) { prompt in
            let tokens = served.model.instructionTokens(prompt, system: "")
            let settings = GenerationSettings(
                maxTokens: min(maxTokens, served.contextLength - tokens.count),
                sampling: SamplingParameters(temperature: temperature), seed: UInt64.random(in: 0...UInt64.max))
            guard settings.maxTokens > 0 else { return .failure(CompletionFailure("prompt fills the context")) }
            do {
                let generation = try served.scheduler.submit(prompt: tokens, settings: settings)
                let result = await generation.collect()
                return result.reason == "stop" || result.reason == "length"
                    ? .success(result.text) : .failure(CompletionFailure("\(served.name): \(result.reason)"))
            } catch {
                return .failure(CompletionFailure("\(served.name): \(error)"))
            }
        }
    }
}

extension ServedModel {
    /// The served model as a search simulator, its calls batched with the completions.
    public static func simulator(_ served: ServedModel, mode: SimulatorMode, topK: Int, maxTokens: Int = 320, temperature: Float = 0.7)
        -> SimulatedEngine
    {
        SimulatedEngine(
            mode: mode, completer: ScheduledCompleter(served: served, maxTokens: maxTokens, temperature: temperature), topK: topK)
    }
}
