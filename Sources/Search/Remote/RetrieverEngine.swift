import Foundation

/// A real retriever behind HTTP (a dense or BM25 index over Wikipedia), the
/// engine of validation and evaluation runs. Two wire forms:
///
/// * `.searchR1` (Search-R1's `retrieval_server.py`, the common one): one
///   `POST {server}/retrieve` per batch, `{"queries": [...], "topk": k,
///   "return_scores": false}`, answered with `{"result": [[doc, ...], ...]}`,
///   one list per query, where a doc is `{"id", "contents": "title\ntext"}`
///   (or `{"document": doc, "score": s}` when scores are asked for). Rendered
///   as Search-R1 does: `Doc i(Title: title) text`, one per line.
/// * `.zeroSearch` (ZeroSearch's wiki server): one `POST {server}/retrieve`
///   per query, `{"query": q, "top_k": k}`, answered with `[{"text": ...}]`,
///   rendered `Doc i: text`.
public struct RetrieverEngine: SearchEngine {
    public enum API: String, Sendable, CaseIterable {
        case searchR1 = "search-r1", zeroSearch = "zerosearch"
    }

    public struct Configuration: Sendable {
        public var servers: [URL]
        public var api: API
        public var topK: Int
        /// Queries per POST in the Search-R1 form; a training step's queries
        /// go out as several batches so that several servers share them.
        public var batchSize: Int
        /// POSTs in flight at once.
        public var concurrency: Int
        public var timeout: Duration
        /// The original retried the wiki server 10 times.
        public var retry: RetryPolicy

        public init(
            servers: [URL], api: API = .searchR1, topK: Int = 3, batchSize: Int = 256,
            concurrency: Int = 4, timeout: Duration = .seconds(30),
            retry: RetryPolicy = RetryPolicy(maxAttempts: 10)
        ) {
            self.servers = servers
            self.api = api
            self.topK = topK
            self.batchSize = batchSize
            self.concurrency = concurrency
            self.timeout = timeout
            self.retry = retry
        }
    }

    public let configuration: Configuration
    private let client: JSONHTTPClient

    public init(_ configuration: Configuration) {
        precondition(configuration.batchSize > 0, "batch size must be positive")
        self.configuration = configuration
        client = JSONHTTPClient(
            JSONHTTPClient.Configuration(
                servers: configuration.servers, timeout: configuration.timeout, retry: configuration.retry,
                maxConcurrentRequests: configuration.concurrency))
    }

    public var name: String {
        "retriever(\(configuration.api.rawValue)):" + configuration.servers.map(\.absoluteString).joined(separator: ",")
    }

    public var metrics: RemoteMetrics { client.metrics }

    public func search(_ requests: [SearchRequest]) async -> [SearchResult] {
        let queries = requests.map(\.query)
        switch configuration.api {
        case .searchR1:
            let batches = stride(from: 0, to: queries.count, by: configuration.batchSize).map {
                Array(queries[$0..<min($0 + configuration.batchSize, queries.count)])
            }
            return await concurrentMap(batches, limit: configuration.concurrency) { await searchR1($0) }.flatMap { $0 }
        case .zeroSearch:
            return await concurrentMap(queries, limit: configuration.concurrency) { await zeroSearch($0) }
        }
    }

    private func searchR1(_ queries: [String]) async -> [SearchResult] {
        let request = BatchQuery(queries: queries, topk: configuration.topK, return_scores: false)
        switch await client.post("retrieve", json: request, as: BatchAnswer.self) {
        case let .failure(failure):
            return Array(repeating: .failed(failure.description), count: queries.count)
        case let .success(answer) where answer.result.count != queries.count:
            let reason = "\(name): \(answer.result.count) result lists for \(queries.count) queries"
            return Array(repeating: .failed(reason), count: queries.count)
        case let .success(answer):
            return answer.result.map { passages in
                SearchResult(
                    text: passages.prefix(configuration.topK).enumerated().map {
                        "Doc \($0.offset + 1)(Title: \($0.element.title)) \($0.element.text)"
                    }.joined(separator: "\n"))
            }
        }
    }

    private func zeroSearch(_ query: String) async -> SearchResult {
        switch await client.post("retrieve", json: SingleQuery(query: query, top_k: configuration.topK), as: [Passage].self) {
        case let .failure(failure): .failed(failure.description)
        case let .success(passages): .documents(passages.prefix(configuration.topK).map(\.text))
        }
    }

    private struct BatchQuery: Encodable {
        var queries: [String]
        var topk: Int
        var return_scores: Bool
    }

    private struct BatchAnswer: Decodable {
        var result: [[Passage]]
    }

    private struct SingleQuery: Encodable {
        var query: String
        var top_k: Int
    }

    /// One retrieved passage in any of the servers' layouts: the document
    /// itself or wrapped with its score; its text as `contents` (title on the
    /// first line, as in Search-R1's wiki-18 corpus) or as `title`/`text`.
    private struct Passage: Decodable {
        var title: String
        var text: String

        private enum CodingKeys: CodingKey { case document, contents, title, text }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if container.contains(.document) {
                self = try container.decode(Passage.self, forKey: .document)
            } else if let contents = try container.decodeIfPresent(String.self, forKey: .contents) {
                let lines = contents.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
                title = String(lines[0])
                text = lines.count > 1 ? String(lines[1]) : ""
            } else {
                title = try container.decodeIfPresent(String.self, forKey: .title) ?? ""
                text = try container.decode(String.self, forKey: .text)
            }
        }
    }
}
