import Synchronization

/// An async counting semaphore: at most `limit` bodies run at once across
/// every task that shares it, and the rest wait in arrival order. A waiting
/// task is not woken by cancellation; every body it waits for runs under a
/// deadline, so the wait is bounded anyway.
final class AsyncLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    private let state: Mutex<State>
    let limit: Int

    init(limit: Int) {
        precondition(limit > 0, "concurrency limit must be positive")
        self.limit = limit
        state = Mutex(State(available: limit))
    }

    func withPermit<T>(_ body: () async -> T) async -> T {
        await acquire()
        defer { release() }
        return await body()
    }

    private func acquire() async {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    /// Hands the permit straight to the oldest waiter, if any.
    private func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard state.head < state.waiters.count else {
                state.available += 1
                return nil
            }
            let waiter = state.waiters[state.head]
            state.head += 1
            if state.head == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return waiter
        }
        next?.resume()
    }
}
