import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The URLSession behind a client, made once and invalidated with its last
/// copy, the per-attempt deadline around it, and a cap on an answer's size
/// (the body is counted as it arrives and the transfer stopped past the cap,
/// so a runaway server costs at most the cap in memory).
final class Transport: Sendable {
    private let session: URLSession
    private let loads: Loads

    init(connectionsPerHost: Int, backstop: TimeInterval, maxResponseBytes: Int) {
        let configuration = URLSessionConfiguration.ephemeral
        // Search answers must never come from a cache: a retried GET would
        // return the cached failure, and two identical queries may differ.
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = connectionsPerHost
        configuration.timeoutIntervalForRequest = backstop
        configuration.timeoutIntervalForResource = backstop
        loads = Loads(maxBytes: maxResponseBytes)
        session = URLSession(configuration: configuration, delegate: loads, delegateQueue: nil)
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
        let task = session.dataTask(with: request)
        loads.begin(task.taskIdentifier, answer: answer)
        task.resume()
        return await withTaskCancellationHandler {
            await answer.value
        } onCancel: {
            answer.resume(with: .failure(.cancelled))
            task.cancel()
        }
    }
}

/// The session's delegate: each task's status and body so far, by task id.
private final class Loads: NSObject, URLSessionDataDelegate, Sendable {
    private struct Load {
        let answer: OneShot<Result<Data, HTTPFailure.Reason>>
        var status = 0
        var body = Data()
    }

    private let maxBytes: Int
    private let loads = Mutex([Int: Load]())

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func begin(_ task: Int, answer: OneShot<Result<Data, HTTPFailure.Reason>>) {
        loads.withLock { $0[task] = Load(answer: answer) }
    }

    /// Ends a task's load with `result` (the first end wins).
    private func finish(_ task: Int, _ result: Result<Data, HTTPFailure.Reason>) {
        loads.withLock { $0.removeValue(forKey: task) }?.answer.resume(with: result)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        if response.expectedContentLength > maxBytes {
            finish(dataTask.taskIdentifier, .failure(.tooLarge(maxBytes)))
            completionHandler(.cancel)
            return
        }
        loads.withLock { $0[dataTask.taskIdentifier]?.status = (response as? HTTPURLResponse)?.statusCode ?? 0 }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let size = loads.withLock { loads -> Int in
            loads[dataTask.taskIdentifier]?.body.append(data)
            return loads[dataTask.taskIdentifier]?.body.count ?? 0
        }
        if size > maxBytes {
            finish(dataTask.taskIdentifier, .failure(.tooLarge(maxBytes)))
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let load = loads.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        load.answer.resume(with: Self.classify(load.body, status: load.status, error))
    }

    private static func classify(_ body: Data, status: Int, _ error: Error?) -> Result<Data, HTTPFailure.Reason> {
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
