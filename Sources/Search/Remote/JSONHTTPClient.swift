import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

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
        public var retry: RetryPolicy
        /// Attempts in flight at once, over all calls through this client.
        public var maxConcurrentRequests: Int
        /// Sent with every request (`Authorization`, for one).
        public var headers: [String: String]

        public init(servers: [URL], timeout: Duration = .seconds(60), retry: RetryPolicy = RetryPolicy(),
                    maxConcurrentRequests: Int = 10, headers: [String: String] = [:]) {
            self.servers = servers
            self.timeout = timeout
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
        transport = Transport(connectionsPerHost: configuration.maxConcurrentRequests,
                              backstop: configuration.timeout.seconds + 5)
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
        repeat {
            attempts += 1
            if attempts > 1 { try? await Task.sleep(for: configuration.retry.delay(before: attempts)) }
            let (server, outcome) = await limiter.withPermit {
                let server = pool.acquire(avoiding: previous)
                defer { pool.release(server) }
                if Task.isCancelled { return (server, Result<Data, HTTPFailure.Reason>.failure(.cancelled)) }
                let request = request(method, pool.urls[server], path, query: query, body: body)
                return (server, await transport.load(request, deadline: configuration.timeout))
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

/// The URLSession behind a client, made once and invalidated with its last
/// copy, and the per-attempt deadline around it.
private final class Transport: Sendable {
    private let session: URLSession

    init(connectionsPerHost: Int, backstop: TimeInterval) {
        let configuration = URLSessionConfiguration.ephemeral
        // Search answers must never come from a cache: a retried GET would
        // return the cached failure, and two identical queries may differ.
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = connectionsPerHost
        configuration.timeoutIntervalForRequest = backstop
        configuration.timeoutIntervalForResource = backstop
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    /// The body of a 2xx answer, or why there is none, within `deadline`.
    func load(_ request: URLRequest, deadline: Duration) async -> Result<Data, HTTPFailure.Reason> {
        await withTaskGroup(of: Result<Data, HTTPFailure.Reason>.self) { group in
            group.addTask { await self.load(request) }
            group.addTask {
                do {
                    try await Task.sleep(for: deadline)
                    return .failure(.timeout(deadline))
                } catch {
                    return .failure(.cancelled)
                }
            }
            // The first to finish wins; cancelling the other either stops the
            // sleep or cancels the URLSession task, and both return at once.
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }

    private func load(_ request: URLRequest) async -> Result<Data, HTTPFailure.Reason> {
        let answer = OneShot<Result<Data, HTTPFailure.Reason>>()
        let task = session.dataTask(with: request) { data, response, error in
            answer.resume(with: Self.classify(data, response, error))
        }
        task.resume()
        return await withTaskCancellationHandler {
            await answer.value
        } onCancel: {
            answer.resume(with: .failure(.cancelled))
            task.cancel()
        }
    }

    private static func classify(_ data: Data?, _ response: URLResponse?, _ error: Error?) -> Result<Data, HTTPFailure.Reason> {
        if let error {
            let what = switch (error as? URLError)?.code {
            case .cannotConnectToHost?: "connection refused"
            case .networkConnectionLost?: "connection closed before the answer"
            case .cannotFindHost?, .dnsLookupFailed?: "unknown host"
            case .timedOut?: "URLSession timed out"
            case .badServerResponse?: "not an HTTP answer"
            default: error.localizedDescription
            }
            return .failure(.connection(what))
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let body = data ?? Data()
        guard (200..<300).contains(status) else {
            let start = String(decoding: body.prefix(200), as: UTF8.self)
            return .failure(.status(status, body: start.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return .success(body)
    }
}

/// A value that arrives once, from whichever source is first (the URLSession
/// callback or cancellation), awaited by one task.
private final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case pending, waiting(CheckedContinuation<Value, Never>), arrived(Value), delivered
    }

    private let state = Mutex(State.pending)

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready: Value? = state.withLock { state in
                    if case let .arrived(value) = state {
                        state = .delivered
                        return value
                    }
                    state = .waiting(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    func resume(with value: Value) {
        let waiter: CheckedContinuation<Value, Never>? = state.withLock { state in
            switch state {
            case .pending:
                state = .arrived(value)
                return nil
            case let .waiting(continuation):
                state = .delivered
                return continuation
            case .arrived, .delivered:
                return nil
            }
        }
        waiter?.resume(returning: value)
    }
}
