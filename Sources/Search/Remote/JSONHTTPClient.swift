import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// JSON over HTTP for every remote engine: one or more servers of one service,
/// a deadline on every attempt, bounded retries with back-off, a concurrency
/// limit shared by all copies of the client, and counters. A call never
/// throws and never hangs: it returns the decoded answer or an `HTTPFailure`
/// that says what went wrong where.
public struct JSONHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Base URLs of interchangeable servers; paths are appended to them.
        public var servers: [URL]
        /// The deadline of one attempt, from sending the request to the last
        /// byte of the answer. URLSession's own timeout only bounds the gap
        /// between packets, which a server that trickles never exceeds.
        public var timeout: Duration
        /// The largest answer read; a larger one fails the call (not retried).
        public var maxResponseBytes: Int
        public var retry: RetryPolicy
        /// Attempts in flight at once, over all calls through this client.
        public var maxConcurrentRequests: Int
        /// Sent with every request (`Authorization`, for one).
        public var headers: [String: String]

        public init(
            servers: [URL], timeout: Duration = .seconds(60), maxResponseBytes: Int = 16 << 20, retry: RetryPolicy = RetryPolicy(),
            maxConcurrentRequests: Int = 10,
            headers: [String: String] = [:]
        ) {
            self.servers = servers
            self.timeout = timeout
            self.maxResponseBytes = maxResponseBytes
            self.retry = retry
            self.maxConcurrentRequests = maxConcurrentRequests
            self.headers = headers
        }
    }

    public let configuration: Configuration
    private let transport: Transport
    private let pool: EndpointPool
    private let limiter: AsyncLimiter
    private let recorder = MetricsRecorder()

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        pool = EndpointPool(configuration.servers)
        limiter = AsyncLimiter(limit: configuration.maxConcurrentRequests)
        transport = Transport(
            connectionsPerHost: configuration.maxConcurrentRequests,
            backstop: configuration.timeout.seconds + 5, maxResponseBytes: configuration.maxResponseBytes)
    }

    public var metrics: RemoteMetrics { recorder.snapshot }

    /// POSTs `body` as JSON to `path` on one of the servers.
    public func post<Body: Encodable, Response: Decodable>(
        _ path: String, json body: Body, as _: Response.Type = Response.self
    ) async -> Result<Response, HTTPFailure> {
        guard let data = try? JSONEncoder().encode(body) else {
            fatalError("\(Body.self) does not encode as JSON")
        }
        return await call("POST", path, query: [], body: data)
    }

    /// GETs `path` with `query` (each name and value fully percent-encoded,
    /// `+` included, which servers would otherwise read as a space).
    public func get<Response: Decodable>(
        _ path: String, query: [(String, String)] = [], as _: Response.Type = Response.self
    ) async -> Result<Response, HTTPFailure> {
        await call("GET", path, query: query, body: nil)
    }

    private func call<Response: Decodable>(
        _ method: String, _ path: String, query: [(String, String)], body: Data?
    ) async -> Result<Response, HTTPFailure> {
        let started = ContinuousClock.now
        var attempts = 0
        var previous: Int?
        var failure: HTTPFailure
        let deadline = started + configuration.retry.deadline
        repeat {
            attempts += 1
            if attempts > 1 { try? await Task.sleep(for: min(configuration.retry.delay(before: attempts), deadline - .now)) }
            let (server, outcome) = await limiter.withPermit {
                let server = pool.acquire(avoiding: previous)
                defer { pool.release(server) }
                if Task.isCancelled { return (server, Result<Data, HTTPFailure.Reason>.failure(.cancelled)) }
                let remaining = deadline - .now
                guard remaining > .zero else { return (server, .failure(.deadline(configuration.retry.deadline))) }
                let request = request(method, pool.urls[server], path, query: query, body: body)
                let outcome = await transport.load(request, deadline: min(configuration.timeout, remaining))
                // An attempt cut short by the call's deadline is the call's failure.
                if case .failure(.timeout) = outcome, remaining < configuration.timeout {
                    return (server, .failure(.deadline(configuration.retry.deadline)))
                }
                return (server, outcome)
            }
            previous = server
            let reason: HTTPFailure.Reason
            switch outcome {
            case let .success(data):
                do {
                    let decoded = try JSONDecoder().decode(Response.self, from: data)
                    recorder.record(attempts: attempts, failed: false, latency: .now - started)
                    return .success(decoded)
                } catch {
                    reason = .malformed(Self.describe(error))
                }
            case let .failure(why):
                reason = why
            }
            failure = HTTPFailure(reason: reason, server: Self.origin(pool.urls[server]), attempts: attempts)
        } while failure.reason.isRetryable && attempts < configuration.retry.maxAttempts
        recorder.record(attempts: attempts, failed: true, latency: .now - started)
        return .failure(failure)
    }

    private func request(_ method: String, _ server: URL, _ path: String, query: [(String, String)], body: Data?) -> URLRequest {
        var components = URLComponents(url: server.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty {
            components.percentEncodedQuery = query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        // A fresh connection per attempt: a pooled one the server has already
        // closed fails (or is silently re-sent by the HTTP stack), which would
        // blur what an attempt is. Against an LLM call's seconds, the
        // handshake costs nothing.
        request.setValue("close", forHTTPHeaderField: "Connection")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (field, value) in configuration.headers { request.setValue(value, forHTTPHeaderField: field) }
        return request
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved)!
    }

    /// Scheme, host and port: what a failure names, never the path or query.
    static func origin(_ url: URL) -> String {
        "\(url.scheme ?? "http")://\(url.host ?? "")" + (url.port.map { ":\($0)" } ?? "")
    }

    /// A decoding error in a line: which field, and what was wrong with it.
    private static func describe(_ error: Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "the top level" : path
        }
        switch error {
        case let DecodingError.keyNotFound(key, context): return "no \(key.stringValue) in \(path(context))"
        case let DecodingError.valueNotFound(_, context): return "\(path(context)) is null"
        case let DecodingError.typeMismatch(type, context): return "\(path(context)) is not a \(type)"
        case let DecodingError.dataCorrupted(context):
            return context.codingPath.isEmpty ? "not JSON" : "\(path(context)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
