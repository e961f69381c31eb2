import Foundation

/// How often and how patiently a remote call is retried. Attempts are always
/// bounded: the published code retried the simulator forever, so one dead
/// server stalled a whole training step.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included (at least 1).
    public var maxAttempts: Int
    /// The pause before the second attempt; it doubles for each later one.
    public var initialDelay: Duration
    /// The longest pause between two attempts.
    public var maxDelay: Duration
    /// The whole call's deadline: every attempt and every pause. A server
    /// that never answers costs this, not the per-attempt timeout times the
    /// attempts (the retriever's 10 attempts of 60 s once took 638 s).
    public var deadline: Duration

    public init(
        maxAttempts: Int = 3, initialDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(8),
        deadline: Duration = .seconds(120)
    ) {
        precondition(maxAttempts >= 1, "at least one attempt")
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.deadline = deadline
    }

    /// The pause before attempt `attempt` (2, 3, …): exponential, capped, and
    /// drawn from its upper half so that clients which failed together (a
    /// restarted server) do not all come back in the same instant.
    public func delay(before attempt: Int) -> Duration {
        let doublings = min(attempt - 2, 30)
        let full = min(initialDelay * (1 << doublings), maxDelay)
        return full * Double.random(in: 0.5...1)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
