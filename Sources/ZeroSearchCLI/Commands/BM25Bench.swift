import ArgumentParser
import Engine
import Foundation
import Search

/// BM25 over a generated 100k-passage corpus next to the Python `bm25s`
/// package on the same corpus and queries, both measured in this run: build
/// time, queries/s, and whether the two return the same top-k passages.
struct BM25Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bm25", abstract: "BM25 index build and queries/s against bm25s, with a top-k agreement check.")

    @Flag(help: "One JSON object per line: name, ours, reference, ratio (and unit, detail).") var json = false
    @Option(help: "Passages in the generated corpus.") var passages = 100_000
    @Option(help: "Queries to run.") var queries = 1000
    @Option(help: "Corpus generator seed.") var seed = 1
    @Option(help: "Passages per query.") var topK = 10
    @Option(help: "Queries whose top-k lists are compared with bm25s.") var sample = 200
    @Option(help: "BM25 k1 (both sides).") var k1 = 1.2
    @Option(help: "BM25 b (both sides).") var b = 0.75
    @Option(help: "Timed runs of each query batch; the best is reported.") var repeats = 3
    @Option(help: "Threads for the multi-threaded figure (both sides).") var threads = Parallel.threadCount
    @Option(help: "Python interpreter for the corpus generator and the reference.") var python = "python3"
    @Flag(help: "Skip the bm25s run (ours only).") var noReference = false

    func run() async throws {
        let files = try ReferenceScript.run([
            python, "scripts/reference/make_bm25_corpus.py", "--passages", "\(passages)",
            "--queries", "\(queries)", "--seed", "\(seed)",
        ]).first
        guard let corpusPath = files?["corpus"] as? String, let queriesPath = files?["queries"] as? String else {
            throw ValidationError("make_bm25_corpus.py printed no file names")
        }
        let corpus = URL(fileURLWithPath: corpusPath)
        let queryTexts = try String(contentsOfFile: queriesPath, encoding: .utf8).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["query"] as? String
        }

        // JSON parsing alone, to see what share of the build it is (best of two: the first also pages the file in).
        let parseSeconds = try bestOf(repeats: 1) { try seconds { try JSONLCorpus.forEachPassage(in: corpus) { _, _ in } } }
        let (built, buildSeconds) = try buildBM25Index(corpus: corpus, parameters: BM25Parameters(k1: k1, b: b), progress: !json)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bm25-bench-\(UUID()).idx")
        defer { try? FileManager.default.removeItem(at: file) }
        let writeSeconds = try seconds { try built.write(to: file) }
        var loaded: BM25Index?
        let loadSeconds = try seconds { loaded = try BM25Index(contentsOf: file) }
        let index = loaded!
        let fileMB = Double((try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0) / 1e6

        let single = bestOf(repeats: repeats) { seconds { _ = index.search(queryTexts, topK: topK, threads: 1) } }
        let multi = bestOf(repeats: repeats) { seconds { _ = index.search(queryTexts, topK: topK, threads: threads) } }
        // The alternative for BM25Engine: one task per query through concurrentMap, each with its own score array.
        let perTask = await bestOfAsync {
            let start = Date()
            _ = await concurrentMap(queryTexts, limit: threads) { index.search($0, topK: topK) }
            return Date().timeIntervalSince(start)
        }
        let ours = index.search(queryTexts, topK: topK)
        guard ours == built.search(queryTexts, topK: topK) else { throw ValidationError("the reloaded index answers differently") }

        let reference =
            noReference
            ? nil
            : try ReferenceScript.run(
                [
                    python, "scripts/reference/bm25s_bench.py", "--corpus", corpusPath, "--queries", queriesPath, "--k1", "\(k1)",
                    "--b", "\(b)", "--top-k", "\(topK)", "--sample", "\(sample)", "--repeats", "\(repeats)", "--threads", "\(threads)",
                ], threads: threads
            ).first
        func referenceQPS(_ backend: String, _ threads: Int) -> Double? {
            (reference?["retrieve"] as? [[String: Any]])?.first {
                $0["backend"] as? String == backend && $0["threads"] as? Int == threads
            }?["queries_per_s"] as? Double
        }

        let q = Double(queryTexts.count)
        let referenceBuild = reference?["build_s"] as? Double
        let buildDetail =
            String(
                format: "ours %.2f s (JSONL parsing alone %.2f s), written in %.2f s (%.0f MB), reopened in %.3f s", buildSeconds,
                parseSeconds, writeSeconds, fileMB, loadSeconds)
            + (referenceBuild.map {
                String(
                    format: "; bm25s %.2f s (reading %.2f, tokenizing %.2f, indexing %.2f)", $0,
                    reference?["read_s"] as? Double ?? 0, reference?["tokenize_s"] as? Double ?? 0,
                    reference?["index_s"] as? Double ?? 0)
            } ?? "")
        var rows = [
            BenchRow(
                name: "index build, \(index.documentCount) passages", ours: Double(index.documentCount) / buildSeconds,
                reference: referenceBuild.map { Double(index.documentCount) / $0 }, unit: "passages/s", detail: buildDetail),
            BenchRow(
                name: "top-\(topK) queries, 1 thread", ours: q / single, reference: referenceQPS("numba", 1), unit: "queries/s",
                detail: "\(queryTexts.count) queries, analysis included; reference: bm25s numba backend"),
            BenchRow(
                name: "top-\(topK) queries, \(threads) threads", ours: q / multi, reference: referenceQPS("numba", threads),
                unit: "queries/s", detail: "reference: bm25s numba backend, n_threads=\(threads)"),
            BenchRow(
                name: "top-\(topK) queries, 1 thread vs bm25s numpy", ours: q / single, reference: referenceQPS("numpy", 1),
                unit: "queries/s", detail: "bm25s' default backend"),
            BenchRow(
                name: "top-\(topK) queries, a task per query", ours: q / perTask, reference: nil, unit: "queries/s",
                detail: "concurrentMap with limit \(threads), a score array per query (the batch split is what BM25Engine does)"),
        ]
        if let sampleLists = reference?["sample"] as? [[String: Any]] {
            rows.append(agreement(index: index, queries: queryTexts, ours: ours, theirs: sampleLists))
        }
        for row in rows { print(json ? row.jsonLine : row.text + "\n    " + row.detail) }
    }

    /// `bestOf` for an async body: one warm-up, then the best of `repeats`.
    func bestOfAsync(_ measure: () async -> Double) async -> Double {
        var best = Double.infinity
        for _ in 0...max(repeats, 1) { best = min(best, await measure()) }
        return best
    }

    /// Share of bm25s' top-k ids (positive scores only: bm25s pads with
    /// unmatched passages) that ours also returns, and why lists differ: a
    /// passage scoring within float rounding of another is a tie, which each
    /// side breaks its own way (ours by corpus order), inside the list or at the cut.
    func agreement(index: BM25Index, queries: [String], ours: [[BM25Hit]], theirs: [[String: Any]]) -> BenchRow {
        var shared = 0
        var total = 0
        var identical = 0
        var reordered = 0
        var cutTies = 0
        var unexplained: [String] = []
        var worstScoreError = 0.0
        for (q, list) in theirs.enumerated() {
            let scores = (list["scores"] as? [Double] ?? []).map { $0 * (1 + k1) }
            let ids = zip(list["ids"] as? [String] ?? [], scores).filter { $0.1 > 0 }.map(\.0)
            let mine = ours[q].map { index.passage($0.document).id }
            shared += Set(ids).intersection(mine).count
            total += ids.count
            for (id, score) in zip(ids, scores) {
                if let position = mine.firstIndex(of: id) {
                    worstScoreError = max(worstScoreError, abs(Double(ours[q][position].score) - score) / score)
                }
            }
            if ids == mine {
                identical += 1
                continue
            }
            // Our score for every passage either side returned.
            let all = Dictionary(
                index.search(queries[q], topK: index.documentCount).map { (index.passage($0.document).id, $0.score) },
                uniquingKeysWith: max)
            func tied(_ a: String, _ b: String) -> Bool { abs((all[a] ?? 0) - (all[b] ?? 0)) <= 1e-5 * (all[b] ?? 0) }
            let cut = mine.last ?? ""
            if Set(ids) == Set(mine), zip(ids, mine).allSatisfy({ tied($0, $1) }) {
                reordered += 1
            } else if zip(ids, mine).allSatisfy({ $0 == $1 || tied($0, $1) }),
                Set(ids).symmetricDifference(mine).allSatisfy({ tied($0, cut) })
            {
                cutTies += 1
            } else {
                unexplained.append(queries[q])
            }
        }
        let detail =
            "\(theirs.count) queries: \(identical) identical lists, \(reordered) the same passages with tied ones in another "
            + "order, \(cutTies) differing only in which of the passages tied at the k-th score made the cut, "
            + "\(unexplained.count) otherwise\(unexplained.isEmpty ? "" : " (\(unexplained.prefix(3)))"); "
            + String(format: "largest relative score difference %.1e", worstScoreError)
        return BenchRow(
            name: "top-\(topK) ids shared with bm25s", ours: 100 * Double(shared) / Double(max(total, 1)), reference: nil,
            unit: "%", detail: detail)
    }
}
