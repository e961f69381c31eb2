import Engine
import Foundation

/// A real search engine over a local corpus: each request's `query` goes to a
/// BM25 index and the best `topK` passages come back as `Doc i: (Title: …) text`.
/// Simulation fields (question, gold answers, kind) are ignored.
public struct BM25Engine: SearchEngine {
    public let index: BM25Index
    public let topK: Int
    public let name: String

    public init(index: BM25Index, topK: Int = 3, name: String = "bm25") {
        precondition(topK > 0, "topK must be positive")
        self.index = index
        self.topK = topK
        self.name = name
    }

    /// Opens an index file written by `zerosearch index build`.
    public init(contentsOf url: URL, topK: Int = 3) throws {
        self.init(index: try BM25Index(contentsOf: url), topK: topK, name: "bm25:\(url.deletingPathExtension().lastPathComponent)")
    }

    /// The whole batch is answered on the engine's cores at once: a query
    /// takes tens of microseconds, far less than scheduling a task per request.
    public func search(_ requests: [SearchRequest]) async -> [SearchResult] {
        index.search(requests.map(\.query), topK: topK).map(result)
    }

    /// What `search` returns for one query, as text, without a task: for
    /// building training pages synchronously.
    public func documents(for query: String) -> String {
        result(index.search(query, topK: topK)).text
    }

    private func result(_ hits: [BM25Hit]) -> SearchResult {
        hits.isEmpty ? .failed("no passage matches the query") : .documents(hits.map { index.passage($0.document).rendered })
    }
}
