import Engine
import Foundation
import Generation
import Models
import Testing

/// The real SmolLM2-135M-Instruct GGUF (fetched by scripts/setup-test-data.sh):
/// greedy decoding equals transformers' on the same file
/// (scripts/fixtures/make_smollm2_greedy.sh), through the tokenizer and chat
/// template too.
@Suite struct SmolLM2Tests {
    static func modelURL() throws -> URL {
        let root =
            ProcessInfo.processInfo.environment["ZEROSEARCH_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/zerosearch")
        let url = root.appendingPathComponent("test-data/SmolLM2-135M-Instruct.Q4_1.gguf")
        try #require(FileManager.default.fileExists(atPath: url.path), "\(url.path) is missing: run scripts/setup-test-data.sh")
        return url
    }

    struct Expected: Decodable {
        let prompts: [[Int32]]
        let greedy: [[Int32]]
    }

    @Test func greedyTokensMatchTransformers() throws {
        let expected = try JSONDecoder().decode(
            Expected.self,
            from: Data(
                contentsOf: try #require(
                    Bundle.module.url(forResource: "Fixtures/smollm2_greedy", withExtension: "json"))))
        let loaded = try LoadedModel(try Self.modelURL())
        let model = try #require(loaded.inference)
        #expect(model.config.architecture == .llama && model.config.layers == 30 && model.config.kvHeads == 3)
        #expect(model.config.tieEmbeddings)
        // Every projection and the tied head (Q8_0 in this file) decode from the file's blocks.
        #expect(model.quantizedMatrixCount == 30 * 4 + 1)
        let requests = expected.prompts.map { GenerationRequest(sequence: TokenSequence(tokens: $0, model: model)) }
        let outputs = try generate(
            requests, model: model,
            parameters: GenerationParameters(maxNewTokens: expected.greedy[0].count, sampling: .greedy))
        for (i, (output, want)) in zip(outputs, expected.greedy).enumerated() {
            #expect(output.tokens == want, "prompt \(i)")
        }
        // With LoRA on every projection the base keeps its codes (the
        // adapters run beside it), and B = 0 leaves the greedy tokens alone.
        try loaded.decoder.attachLoRA(LoRAConfig(rank: 8, alpha: 16, targets: LoRAConfig.projections), seed: 1)
        let adapted = try InferenceModel(loaded.decoder)
        #expect(adapted.quantizedMatrixCount == 30 * 4 + 1)
        let adaptedOutputs = try generate(
            [GenerationRequest(sequence: TokenSequence(tokens: expected.prompts[0], model: adapted))], model: adapted,
            parameters: GenerationParameters(maxNewTokens: expected.greedy[0].count, sampling: .greedy))
        #expect(adaptedOutputs[0].tokens == expected.greedy[0])
        // The chat prompt, rebuilt from text with our tokenizer and template, is the same ids.
        #expect(loaded.promptTokens("What is the capital of France?", chat: true) == expected.prompts[0])
        #expect(loaded.tokenizer.decode(Array(outputs[0].tokens.prefix(7)), skipSpecialTokens: true) == "The capital of France is Paris.")
    }
}
