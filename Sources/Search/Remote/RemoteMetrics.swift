import Synchronization

/// Counters of one client's calls, cumulative since it was made; take a
/// snapshot before and after a batch and subtract to get the batch's share.
public struct RemoteMetrics: Sendable, Equatable {
    /// Logical calls: one per `post`/`get`, however many attempts it took.
    public var calls = 0
    /// Calls that failed after their last attempt.
    public var failures = 0
    /// Attempts beyond the first, over all calls.
    public var retries = 0
    /// Wall time of all calls, back-off pauses included.
    public var totalLatency = Duration.zero

    public init() {}

    public var meanLatency: Duration { calls == 0 ? .zero : totalLatency / calls }

    public static func - (later: RemoteMetrics, earlier: RemoteMetrics) -> RemoteMetrics {
        var difference = RemoteMetrics()
        difference.calls = later.calls - earlier.calls
        difference.failures = later.failures - earlier.failures
        difference.retries = later.retries - earlier.retries
        difference.totalLatency = later.totalLatency - earlier.totalLatency
        return difference
    }
}

/// The shared, lockable home of a client's counters: copies of a client
/// value all count into the same place.
final class MetricsRecorder: Sendable {
    private let counters = Mutex(RemoteMetrics())

    var snapshot: RemoteMetrics { counters.withLock { $0 } }

    func record(attempts: Int, failed: Bool, latency: Duration) {
        counters.withLock {
            $0.calls += 1
            $0.retries += attempts - 1
            if failed { $0.failures += 1 }
            $0.totalLatency += latency
        }
    }
}
