import ArgumentParser
import Engine
import Foundation
import Generation
import Models
import Runs
import Tokenizers

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with a model (GGUF file, Hugging Face folder or installed name).")

    @Option(help: "GGUF file, Hugging Face folder, or installed model name.") var model: String
    @Option(help: "The prompt (repeat for a batch generated together).") var prompt: [String] = []
    @Option(help: "Prompts as token ids instead of text: a JSON array of arrays, e.g. [[1,2,3],[4,5]].") var promptTokens: String?
    @Flag(help: "Wrap the prompt as a user message in the model's chat template.") var chat = false
    @Option(help: "System message for --chat.") var system: String?
    @Option(help: "Maximum new tokens per prompt.") var maxTokens = 128
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0.7
    @Option(help: "Keep only the K most likely tokens (0: all).") var topK = 0
    @Option(help: "Nucleus sampling mass (1: all).") var topP: Float = 1
    @Option(help: "Random seed (row i uses seed + i).") var seed: UInt64 = 0
    @Option(help: "Stop when the output contains this text (repeatable).") var stop: [String] = []
    @Flag(help: "Do not stop at the end-of-sequence or end-of-turn token.") var ignoreEOS = false
    @Flag(help: "Print one JSON object per prompt: text, token ids, log-probs, finish reason.") var json = false

    func run() async throws {
        let loaded = try LoadedModel(try await resolveModel(model))
        guard let inference = loaded.inference else { return }
        var prompts = prompt.map { loaded.promptTokens($0, chat: chat, system: system) }
        if let promptTokens {
            guard let ids = try? JSONDecoder().decode([[Int32]].self, from: Data(promptTokens.utf8)), ids.allSatisfy({ !$0.isEmpty }) else {
                throw ValidationError("--prompt-tokens must be a JSON array of non-empty arrays of token ids")
            }
            prompts += ids
        }
        guard !prompts.isEmpty else { throw ValidationError("give --prompt or --prompt-tokens") }
        let sequences = prompts.map { TokenSequence(tokens: $0, model: inference) }
        let parameters = GenerationParameters(
            maxNewTokens: maxTokens, sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP),
            seed: seed, stopTokens: ignoreEOS ? [] : loaded.stopTokens, stopStrings: stop)
        let tokenizer = loaded.tokenizer
        let completions = try generate(
            sequences.map { GenerationRequest(sequence: $0) }, model: inference, parameters: parameters,
            decode: { tokenizer.decode($0, skipSpecialTokens: false) })
        for completion in completions {
            let text = tokenizer.decode(completion.tokens, skipSpecialTokens: true)
            if json {
                let object: [String: Any] = [
                    "text": text, "tokens": completion.tokens.map(Int.init), "logprobs": completion.logProbs.map(Double.init),
                    "finish_reason": completion.finishReason.name,
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(text)
            }
        }
    }
}

extension FinishReason {
    var name: String {
        switch self {
        case .stopToken: "stop_token"
        case .stopString: "stop_string"
        case .length: "length"
        }
    }
}

struct Tokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize a text, or train a byte-level BPE tokenizer.",
        subcommands: [TokenizeText.self, TokenizeTrain.self], defaultSubcommand: TokenizeText.self)
}

struct TokenizeText: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "text", abstract: "Print the token ids of a text as a JSON array.")

    @Option(help: "A model (GGUF file, Hugging Face folder or installed name) whose tokenizer to use.") var model: String?
    @Option(help: "A tokenizer.json, a Hugging Face folder or a GGUF file.") var tokenizer: String?
    @Option(help: "The text to tokenize.") var text: String
    @Flag(help: "Add the tokens the tokenizer adds around a sequence (a BOS, for some).") var addSpecial = false

    func run() async throws {
        guard (model == nil) != (tokenizer == nil) else { throw ValidationError("give exactly one of --model and --tokenizer") }
        let location = if let model { try await resolveModel(model) } else { URL(fileURLWithPath: tokenizer!) }
        let ids = try BPETokenizer(contentsOf: location).encode(text, addSpecialTokens: addSpecial)
        print("[" + ids.map(String.init).joined(separator: ", ") + "]")
    }
}
