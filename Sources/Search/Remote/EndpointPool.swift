import Foundation
import Synchronization

/// Spreads calls over several servers of one service (sglang/vLLM replicas,
/// retriever shards): each call goes to the server with the fewest calls in
/// flight, ties broken round-robin, and a retry goes elsewhere when there is
/// elsewhere to go. The original picked a host at random per call, which
/// piles calls onto one replica now and then and retries on the host that
/// just failed.
final class EndpointPool: Sendable {
    let urls: [URL]
    private let state: Mutex<(inFlight: [Int], next: Int)>

    /// The wheel starts at a random server: separate processes (a shell loop
    /// of `zerosearch search`, several trainers) each start one, and starting
    /// at the first would send every process's first call to the same server.
    init(_ urls: [URL], start: Int? = nil) {
        precondition(!urls.isEmpty, "at least one server URL")
        self.urls = urls
        state = Mutex((inFlight: Array(repeating: 0, count: urls.count), next: start ?? Int.random(in: 0..<urls.count)))
    }

    /// Picks a server and counts the call against it until `release`.
    func acquire(avoiding avoided: Int? = nil) -> Int {
        state.withLock { state in
            var best: Int?
            for step in 0..<urls.count {
                let candidate = (state.next + step) % urls.count
                if candidate == avoided && urls.count > 1 { continue }
                if best.map({ state.inFlight[candidate] < state.inFlight[$0] }) ?? true { best = candidate }
            }
            let chosen = best!
            state.inFlight[chosen] += 1
            // Only first attempts turn the wheel, so calls alternate between
            // servers even while every call to one of them needs a retry.
            if avoided == nil { state.next = (chosen + 1) % urls.count }
            return chosen
        }
    }

    func release(_ index: Int) {
        state.withLock { $0.inFlight[index] -= 1 }
    }
}
