import ArgumentParser
import Foundation
import Tokenizers

/// Encode throughput against Hugging Face `tokenizers` on the same text, with a
/// check that both produced the same ids.
struct TokenizerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "BPE encode MB/s against Hugging Face tokenizers (single-threaded encode).")

    @Flag(help: "One JSON object per line: name, ours, reference, ratio (and unit, detail).") var json = false
    @Option(help: "A byte-level BPE tokenizer.json (default: the Qwen one scripts/setup-test-data.sh installs).")
    var tokenizer: String?
    @Option(help: "Size of the text to encode, in MB.") var megabytes = 1.0
    @Option(help: "Timed runs of each way; the best and the median are reported.") var repeats = 5
    @Option(help: "Python interpreter for the reference.") var python = "python3"
    @Flag(help: "Skip the reference run (ours only).") var noReference = false

    func run() async throws {
        let path =
            tokenizer ?? ProcessInfo.processInfo.environment["ZEROSEARCH_CACHE"].map { $0 + "/test-data/qwen/tokenizer.json" }
            ?? FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/zerosearch/test-data/qwen/tokenizer.json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("\(path) is missing: run scripts/setup-test-data.sh or pass --tokenizer")
        }
        let bpe = try BPETokenizer(tokenizerJSON: URL(fileURLWithPath: path))
        let documents = try benchmarkCorpus(megabytes: megabytes)
        let corpus = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-bench-\(UUID()).json")
        try JSONSerialization.data(withJSONObject: documents).write(to: corpus)
        defer { try? FileManager.default.removeItem(at: corpus) }
        let reference =
            noReference
            ? []
            : try ReferenceScript.run(
                [python, "scripts/reference/tokenize_hf.py", "--tokenizer", path, "--corpus", corpus.path, "--repeats", "\(repeats)"])

        let ways = [("whole", "one string", [documents.joined()]), ("documents", "\(documents.count) documents", documents)]
        for (name, description, texts) in ways {
            let ours = measure(texts, with: bpe)
            let theirs = reference.first { $0["name"] as? String == name }
            var detail =
                "\(String(format: "%.2f", ours.megabytes)) MB as \(description), best of \(repeats) "
                + "(median \(String(format: "%.1f", ours.medianMBps)) MB/s), \(ours.tokens) tokens"
            if let theirs {
                let same = theirs["checksum"] as? String == String(ours.checksum) && theirs["tokens"] as? Int == ours.tokens
                detail += same ? ", same ids as tokenizers" : ", IDS DIFFER from tokenizers"
            }
            let row = BenchRow(
                name: "encode MB/s (\(name))", ours: ours.bestMBps,
                reference: theirs?["mb_per_s_best"] as? Double, unit: "MB/s", detail: detail)
            print(json ? row.jsonLine : row.text + "\n    " + detail)
        }
    }

    func measure(_ texts: [String], with tokenizer: BPETokenizer)
        -> (megabytes: Double, bestMBps: Double, medianMBps: Double, tokens: Int, checksum: UInt64)
    {
        let megabytes = Double(texts.reduce(0) { $0 + $1.utf8.count }) / 1e6
        var times: [Double] = []
        var ids: [[Int32]] = []
        for _ in 0..<max(repeats, 1) {
            times.append(seconds { ids = texts.map { tokenizer.encode($0, addSpecialTokens: false) } })
        }
        times.sort()
        // FNV-1a over the ids as little-endian UInt32, as the reference script computes it.
        var checksum: UInt64 = 0xCBF2_9CE4_8422_2325
        for id in ids.joined() {
            for shift in stride(from: 0, to: 32, by: 8) {
                checksum = (checksum ^ UInt64((UInt32(bitPattern: id) >> shift) & 0xFF)) &* 0x100_0000_01B3
            }
        }
        return (
            megabytes, megabytes / times[0], megabytes / times[times.count / 2],
            ids.reduce(0) { $0 + $1.count }, checksum
        )
    }

    /// About `megabytes` of mixed text in documents of a few KB: this repository's
    /// Swift, Python and Markdown files (code and English prose) interleaved with
    /// the multilingual strings of the tokenizer golden fixture (CJK, Arabic,
    /// emoji, odd whitespace), repeated until large enough.
    func benchmarkCorpus(megabytes: Double) throws -> [String] {
        var files: [String] = ["README.md"]
        for folder in ["Sources", "docs", "scripts"] {
            let entries = FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? []
            files += entries.filter { [".swift", ".md", ".py"].contains(where: $0.hasSuffix) }.map { "\(folder)/\($0)" }
        }
        let sources = try files.sorted().map { try String(contentsOfFile: $0, encoding: .utf8) }
        let fixture = try Data(contentsOf: URL(fileURLWithPath: "Tests/TokenizersTests/Fixtures/qwen_golden.json"))
        let cases = (try JSONSerialization.jsonObject(with: fixture) as? [String: Any])?["cases"] as? [[String: Any]] ?? []
        let strings = cases.compactMap { $0["text"] as? String }
        let multilingual = stride(from: 0, to: strings.count, by: 25).map {
            strings[$0..<min($0 + 25, strings.count)].joined(separator: "\n")
        }
        guard !sources.isEmpty, !multilingual.isEmpty else {
            throw ValidationError("run from the repository root: the benchmark text is built from its files")
        }
        var documents: [String] = []
        var bytes = 0
        var index = 0
        while Double(bytes) < megabytes * 1e6 {
            let document = index % 3 == 2 ? multilingual[index / 3 % multilingual.count] : sources[index % sources.count]
            documents.append(document)
            bytes += document.utf8.count
            index += 1
        }
        return documents
    }
}
