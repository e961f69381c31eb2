/// Why a remote call failed, after how many attempts, at which server. Its
/// description is the reason a `SearchResult` keeps
/// (`http://127.0.0.1:6001: HTTP 500 after 3 attempts`).
public struct HTTPFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Error, Sendable, Equatable, CustomStringConvertible {
        /// No complete answer within the per-attempt deadline.
        case timeout(Duration)
        /// Refused, reset or dropped before an answer arrived.
        case connection(String)
        /// An answer outside 2xx; `body` is its start, for the server's own words.
        case status(Int, body: String)
        /// A 2xx answer whose body is not the JSON expected.
        case malformed(String)
        /// The calling task was cancelled.
        case cancelled
        /// An answer larger than the client's cap (bytes), stopped there.
        case tooLarge(Int)
        /// The call's overall deadline (all attempts and pauses) passed.
        case deadline(Duration)

        /// Whether another attempt may succeed: a 4xx other than 429 says the
        /// request itself is wrong, and asking again only repeats the error.
        public var isRetryable: Bool {
            switch self {
            case .timeout, .connection, .malformed: true
            case let .status(code, _): code == 429 || code >= 500
            case .cancelled, .tooLarge, .deadline: false
            }
        }

        public var description: String {
            switch self {
            case let .timeout(limit): "no answer within \(limit.seconds) s"
            case let .connection(what): what
            case let .status(code, body): body.isEmpty ? "HTTP \(code)" : "HTTP \(code) (\(body))"
            case let .malformed(what): "malformed answer: \(what)"
            case .cancelled: "cancelled"
            case let .tooLarge(cap): "answer larger than \(cap) bytes"
            case let .deadline(limit): "no answer within the call's deadline of \(limit.seconds) s"
            }
        }
    }

    public var reason: Reason
    /// The server of the last attempt, as scheme, host and port only, so that
    /// keys in query strings never reach logs.
    public var server: String
    public var attempts: Int

    public init(reason: Reason, server: String, attempts: Int) {
        self.reason = reason
        self.server = server
        self.attempts = attempts
    }

    public var description: String {
        "\(server): \(reason) after \(attempts) attempt\(attempts == 1 ? "" : "s")"
    }
}
