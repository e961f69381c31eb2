import ArgumentParser
import Foundation
import Tokenizers

/// Fits a byte-level BPE vocabulary to a corpus and writes it as a Hugging Face
/// tokenizer folder, for models trained from scratch on that corpus.
struct TokenizeTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a byte-level BPE tokenizer; write tokenizer.json and tokenizer_config.json.")

    @Option(help: "A .jsonl file (one {\"text\": ...} object per line) or any other file as one text.") var corpus: String
    @Option(help: "Vocabulary size: special and added tokens, the 256 bytes and the merges.") var vocab: Int
    @Option(help: "Folder to write tokenizer.json and tokenizer_config.json into.") var out: String
    @Option(help: "Pairs seen fewer times are not merged.") var minFrequency = 2
    @Option(help: "A special token (repeatable).") var special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    @Option(help: "A non-special added token (repeatable).")
    var added = ["<search>", "</search>", "<answer>", "</answer>", "<information>", "</information>", "<think>", "</think>"]
    @Option(help: "The EOS token, one of the special tokens.") var eos = "<|im_end|>"
    @Option(help: "Pre-tokenizer: \(BPETrainer.Splitting.allCases.map(\.rawValue).joined(separator: ", ")).")
    var split = BPETrainer.Splitting.gpt2.rawValue

    func run() async throws {
        guard let splitting = BPETrainer.Splitting(rawValue: split) else { throw ValidationError("unknown --split \(split)") }
        let texts = try Self.texts(URL(fileURLWithPath: corpus))
        let trainer = BPETrainer(
            vocabularySize: vocab, minimumPairFrequency: minFrequency, specialTokens: special,
            addedTokens: added, eosToken: eos, splitting: splitting)
        var trained: TrainedTokenizer?
        let elapsed = try seconds { trained = try trainer.train(texts) }
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, data) in try trained!.huggingFaceFiles() { try data.write(to: folder.appendingPathComponent(name)) }
        let megabytes = Double(texts.reduce(0) { $0 + $1.utf8.count }) / 1e6
        print(
            String(
                format: "%.2f MB in %d texts: %d merges, %d tokens in %.2f s; wrote %@",
                megabytes, texts.count, trained!.merges.count, trained!.tokenizer.vocabularySize, elapsed, folder.path))
    }

    static func texts(_ url: URL) throws -> [String] {
        let data = try Data(contentsOf: url)
        guard url.pathExtension == "jsonl" else { return [String(decoding: data, as: UTF8.self)] }
        return try data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { return nil }
            guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any],
                let text = object["text"] as? String
            else {
                throw ValidationError("\(url.path):\(index + 1): expected an object with a \"text\" string")
            }
            return text
        }
    }
}
