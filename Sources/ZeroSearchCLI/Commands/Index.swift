import ArgumentParser
import Foundation
import Search

struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "Build search indexes over a local corpus.", subcommands: [IndexBuild.self])
}

/// `zerosearch index build --corpus passages.jsonl --out wiki.bm25`
struct IndexBuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Build a BM25 index from a JSONL corpus of {\"id\", \"title\", \"text\"} lines.")

    @Option(help: "JSONL corpus, one {\"id\", \"title\", \"text\"} object per line.") var corpus: String
    @Option(help: "Index file to write (replaced atomically).") var out: String
    @Option(help: "BM25 term-frequency saturation.") var k1 = 1.2
    @Option(help: "BM25 length normalisation, 0...1.") var b = 0.75

    func run() async throws {
        guard k1 >= 0, (0...1).contains(b) else { throw ValidationError("need k1 >= 0 and 0 <= b <= 1") }
        let (index, buildSeconds) = try buildBM25Index(corpus: URL(fileURLWithPath: corpus), parameters: BM25Parameters(k1: k1, b: b))
        let url = URL(fileURLWithPath: out)
        let writeSeconds = try seconds { try index.write(to: url) }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        print(
            """
            \(index.documentCount) passages, \(index.termCount) terms, \(index.postingCount) postings, \
            average length \(String(format: "%.1f", index.averageLength)) terms
            built in \(String(format: "%.2f", buildSeconds)) s, wrote \(String(format: "%.1f", Double(size) / 1e6)) MB \
            to \(out) in \(String(format: "%.2f", writeSeconds)) s
            """)
    }
}

/// Streams the corpus into a builder with a passage counter on stderr;
/// returns the index and the seconds from opening the corpus to a usable index.
func buildBM25Index(corpus: URL, parameters: BM25Parameters, progress: Bool = true) throws -> (BM25Index, Double) {
    var builder = BM25Builder(parameters: parameters)
    let start = Date()
    var index: BM25Index?
    let elapsed = try seconds {
        try builder.add(corpus: corpus) { count in
            guard progress else { return }
            FileHandle.standardError.write(
                Data(
                    "\rindexing \(corpus.lastPathComponent): \(count) passages, \(String(format: "%.0f", Date().timeIntervalSince(start))) s"
                        .utf8))
        }
        if progress { FileHandle.standardError.write(Data("\n".utf8)) }
        index = try builder.build()
    }
    return (index!, elapsed)
}
