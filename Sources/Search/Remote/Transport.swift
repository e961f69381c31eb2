import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The URLSession behind a client, made once and invalidated with its last
/// copy, and the per-attempt deadline around it.
final class Transport: Sendable {
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
            let what =
                switch (error as? URLError)?.code {
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
