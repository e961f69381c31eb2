import ArgumentParser
import Engine
import Foundation
import Generation
import Models
import Runs

/// Inference speed on a real model file next to llama.cpp (`llama-bench` and,
/// for batched decoding, `llama-batched-bench` on the same GGUF) and PyTorch (`transformers`, f32, the same weights), all
/// measured in this run, one after another.
struct GenerationBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generation",
        abstract: "Prompt processing, single-stream decode and batched decode tokens/s against llama.cpp and PyTorch.")

    @Option(help: "GGUF file or Hugging Face folder, or an installed model's name.") var model = "smollm2-135m-instruct"
    @Option(help: "Prompt length for prompt processing.") var promptTokens = 512
    @Option(help: "New tokens per sequence when decoding.") var newTokens = 128
    @Option(help: "Rows decoded together for the batched figure.") var batch = 32
    @Flag(help: "One JSON object per line.") var json = false
    @Flag(help: "Skip the reference runs (ours only).") var noReference = false
    @Option(help: "Python interpreter for the PyTorch reference.") var python = "python3"

    func run() async throws {
        let location = try await resolveModel(model)
        let inference = try InferenceModel(Decoder(contentsOf: location))
        var rng = RandomGenerator(seed: 7)
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.below(inference.vocabularySize)) } }

        let prompt = randomTokens(promptTokens)
        let prefillSeconds = try bestOf(repeats: 3) {
            try seconds { _ = try inference.forward([(inference.makeCache(capacity: promptTokens), prompt)]) }
        }
        let single = try decodeSeconds(inference, rows: 1, prompt: randomTokens)
        let batched = try decodeSeconds(inference, rows: batch, prompt: randomTokens)
        var rows = [
            BenchRow(
                name: "prompt processing pp\(promptTokens)", ours: Double(promptTokens) / prefillSeconds, reference: nil, unit: "tokens/s"),
            BenchRow(name: "decode tg\(newTokens), 1 stream", ours: Double(newTokens) / single, reference: nil, unit: "tokens/s"),
            BenchRow(
                name: "decode tg\(newTokens), \(batch) streams", ours: Double(newTokens * batch) / batched, reference: nil, unit: "tokens/s"
            ),
        ]
        rows.append(BenchRow(name: "batched / single-stream", ours: rows[2].ours / rows[1].ours, reference: nil, unit: "x"))
        if !noReference, location.pathExtension != "gguf" {
            FileHandle.standardError.write(Data("note: llama.cpp and the PyTorch reference read GGUF files; measuring ours only\n".utf8))
        }
        if !noReference, location.pathExtension == "gguf" {
            guard promptTokens == 512, newTokens == 128 else {
                throw ValidationError("the references measure pp512 and tg128; use the defaults or --no-reference")
            }
            if !json { FileHandle.standardError.write(Data("llama.cpp (llama-bench, about 2 minutes)…\n".utf8)) }
            let llama = try ReferenceScript.run(["scripts/reference/llama_bench.sh", location.path])
            if !json { FileHandle.standardError.write(Data("llama.cpp batched (llama-batched-bench, \(batch) sequences)…\n".utf8)) }
            let batchedLlama = try ReferenceScript.run(["scripts/reference/llama_batched_bench.sh", location.path, "\(batch)"])
            if !json { FileHandle.standardError.write(Data("PyTorch f32 (transformers, several minutes)…\n".utf8)) }
            let torch = try ReferenceScript.run([
                python, "scripts/reference/generate_torch.py", "--gguf", location.path,
                "--threads", "\(Parallel.threadCount)",
            ])
            let l = llama.first ?? [:]
            let t = torch.first ?? [:]
            rows = [
                rows[0].against(l["pp\(promptTokens)_tokens_per_s"], as: "llama.cpp"),
                rows[0].against(t["pp\(promptTokens)_tokens_per_s"], as: "PyTorch f32"),
                rows[1].against(l["tg\(newTokens)_tokens_per_s"], as: "llama.cpp"),
                rows[1].against(t["decode_tokens_per_s"], as: "PyTorch f32"),
                rows[2].against(batchedLlama.first?["tg_tokens_per_s"], as: "llama-batched-bench"),
                rows[2].against(t["batched\(batch)_tokens_per_s"], as: "PyTorch f32"),
                rows[3],
            ]
        }
        for row in rows { print(json ? row.jsonLine : row.text) }
    }

    /// Seconds to decode `newTokens` tokens for `rows` sequences together
    /// (greedy, sampling included), after their prompts are in the cache.
    func decodeSeconds(_ model: InferenceModel, rows: Int, prompt: (Int) -> [Int32]) throws -> Double {
        try bestOf(repeats: 2) {
            // The prompts are prefilled outside the timed region except their last token.
            let sequences = (0..<rows).map { _ in TokenSequence(tokens: prompt(8), model: model) }
            _ = try model.forward(sequences.map { ($0.cache, Array($0.tokens.dropLast())) })
            return try seconds {
                _ = try generate(
                    sequences.map { GenerationRequest(sequence: $0) }, model: model,
                    parameters: GenerationParameters(maxNewTokens: newTokens, sampling: .greedy))
            }
        }
    }
}
