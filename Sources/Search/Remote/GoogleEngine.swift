import Foundation

/// Google through SerpAPI, the published evaluation engine:
/// `GET {server}/search.json?engine=google&q=…&api_key=…&num=k`, one call per
/// query (SerpAPI has no batch form). Each document is an organic result's
/// title and snippet run together with no separator, exactly as published,
/// rendered `Doc i: …`.
public struct GoogleEngine: SearchEngine {
    public struct MissingKey: Error, CustomStringConvertible {
        public var description: String {
            "SerpAPI needs an API key: pass one, or set SERPAPI_API_KEY (or SER_API_KEY, the original's name)"
        }
    }

    public struct Configuration: Sendable {
        /// Defaults to `SERPAPI_API_KEY`, then `SER_API_KEY`.
        public var apiKey: String?
        public var server: URL
        public var topK: Int
        public var concurrency: Int
        public var timeout: Duration
        /// The original: 3 tries, 2 s apart.
        public var retry: RetryPolicy

        public init(
            apiKey: String? = nil, server: URL = URL(string: "https://serpapi.com")!, topK: Int = 5,
            concurrency: Int = 10, timeout: Duration = .seconds(30),
            retry: RetryPolicy = RetryPolicy(maxAttempts: 3, initialDelay: .seconds(2))
        ) {
            let environment = ProcessInfo.processInfo.environment
            self.apiKey = apiKey ?? environment["SERPAPI_API_KEY"] ?? environment["SER_API_KEY"]
            self.server = server
            self.topK = topK
            self.concurrency = concurrency
            self.timeout = timeout
            self.retry = retry
        }
    }

    public let configuration: Configuration
    private let apiKey: String
    private let client: JSONHTTPClient

    /// Fails at once without a key, rather than on every search of a run.
    public init(_ configuration: Configuration) throws(MissingKey) {
        guard let key = configuration.apiKey, !key.isEmpty else { throw MissingKey() }
        self.configuration = configuration
        apiKey = key
        client = JSONHTTPClient(
            JSONHTTPClient.Configuration(
                servers: [configuration.server], timeout: configuration.timeout, retry: configuration.retry,
                maxConcurrentRequests: configuration.concurrency))
    }

    public var name: String { "google:" + JSONHTTPClient.origin(configuration.server) }

    public var metrics: RemoteMetrics { client.metrics }

    public func search(_ requests: [SearchRequest]) async -> [SearchResult] {
        await concurrentMap(requests.map(\.query), limit: configuration.concurrency) { await search($0) }
    }

    private func search(_ query: String) async -> SearchResult {
        let parameters = [("engine", "google"), ("q", query), ("api_key", apiKey), ("num", String(configuration.topK))]
        switch await client.get("search.json", query: parameters, as: Page.self) {
        case let .failure(failure):
            return .failed(failure.description)
        case let .success(page):
            // SerpAPI answers a query without results with 200 and an
            // `error` field; the policy reads that as a failed search.
            guard let results = page.organic_results, !results.isEmpty else {
                return .failed("\(name): \(page.error ?? "no organic results")")
            }
            return .documents(results.prefix(configuration.topK).map { ($0.title ?? "") + ($0.snippet ?? "") })
        }
    }

    private struct Page: Decodable {
        struct Organic: Decodable {
            var title: String?
            var snippet: String?
        }
        var organic_results: [Organic]?
        var error: String?
    }
}
