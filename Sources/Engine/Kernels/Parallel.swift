import Foundation
import Synchronization

/// Work splitting over the machine's cores.
///
/// The engine targets small machines (2 cores here) and splits each kernel
/// into at most `threadCount` chunks. The chunks run on a fork-join pool of
/// persistent threads that spin briefly between jobs: a decode step makes
/// about 150 parallel calls of 20–100 µs each, where waking a GCD worker
/// per call (`concurrentPerform`) is a large share of the work. The A/B in
/// BENCHMARKS.md measures the difference.
/// `ZEROSEARCH_THREADS` overrides the core count.
public enum Parallel {
    public static let threadCount: Int = {
        if let value = ProcessInfo.processInfo.environment["ZEROSEARCH_THREADS"], let n = Int(value), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    private static let pool = WorkerPool(workers: threadCount - 1)

    /// Runs `body(i)` for `i` in `0..<count`, concurrently when `count > 1`.
    /// A call made while the pool is busy (from inside a parallel body, or
    /// from a second thread) runs on the calling thread.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || threadCount == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { pool.run(count, $0) }
    }

    /// Splits `0..<total` into at most `threadCount` contiguous ranges of at least
    /// `minChunk` items and runs them concurrently. Small jobs run inline, because
    /// even a fast hand-off costs microseconds.
    public static func forRanges(_ total: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        forChunks(total, minChunk: minChunk) { _, range in body(range) }
    }

    /// `forRanges` that also passes each range's chunk index, distinct and
    /// below `threadCount`: a body that accumulates into per-chunk buffers
    /// (partial sums reduced afterwards) indexes them with it.
    public static func forChunks(_ total: Int, minChunk: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        let chunks = max(1, min(threadCount, total / max(minChunk, 1)))
        if chunks == 1 {
            if total > 0 { body(0, 0..<total) }
            return
        }
        forEach(chunks) { c in
            let lo = total * c / chunks
            let hi = total * (c + 1) / chunks
            if lo < hi { body(c, lo..<hi) }
        }
    }
}

/// A fork-join pool: the caller and `workers` threads claim indices of one
/// job from its counter until none are left; the caller returns when every
/// index has finished. Idle workers spin for a while (the next job usually
/// comes within microseconds), then sleep on a condition variable.
final class WorkerPool: @unchecked Sendable {
    /// One call's work. A worker that wakes late may still hold the job after
    /// the caller returned; it then finds no index left and never touches `body`.
    final class Job: @unchecked Sendable {
        let count: Int
        var body: ((Int) -> Void)?
        let next = Atomic<Int>(0)
        let unfinished: Atomic<Int>

        init(count: Int, body: @escaping (Int) -> Void) {
            self.count = count
            self.body = body
            unfinished = Atomic(count)
        }

        func takeIndices() {
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                if i >= count { return }
                body!(i)
                unfinished.subtract(1, ordering: .releasing)
            }
        }
    }

    private let current = Mutex<Job?>(nil)
    private let generation = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(workers: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<max(workers, 0) {
            let thread = Thread { [unowned self] in self.serve() }
            thread.stackSize = 1 << 22
            thread.start()
        }
    }

    func run(_ count: Int, _ work: @escaping (Int) -> Void) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for i in 0..<count { work(i) }
            return
        }
        let job = Job(count: count, body: work)
        current.withLock { $0 = job }
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
        job.takeIndices()
        while job.unfinished.load(ordering: .acquiring) > 0 {}
        job.body = nil
        current.withLock { $0 = nil }
        busy.store(false, ordering: .releasing)
    }

    private func serve() {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins == 50_000 {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wake, mutex) }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                }
            }
            seen = generation.load(ordering: .acquiring)
            current.withLock { $0 }?.takeIndices()
        }
    }
}

/// Carries a value into a concurrent closure whose safety the engine
/// guarantees by construction (disjoint output ranges).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
