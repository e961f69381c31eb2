import Dispatch
import Foundation

/// Work splitting over the machine's cores.
///
/// The engine targets small machines (2 cores here), so it uses a flat split
/// into `threadCount` chunks through GCD rather than a work-stealing pool.
/// `ZEROSEARCH_THREADS` overrides the core count.
public enum Parallel {
    public static let threadCount: Int = {
        if let value = ProcessInfo.processInfo.environment["ZEROSEARCH_THREADS"], let n = Int(value), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Runs `body(i)` for `i` in `0..<count`, concurrently when `count > 1`.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
        }
    }

    /// Splits `0..<total` into at most `threadCount` contiguous ranges of at least
    /// `minChunk` items and runs them concurrently. Small jobs run inline, because
    /// a dispatch costs microseconds.
    public static func forRanges(_ total: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        let chunks = max(1, min(threadCount, total / max(minChunk, 1)))
        if chunks == 1 {
            if total > 0 { body(0..<total) }
            return
        }
        forEach(chunks) { c in
            let lo = total * c / chunks, hi = total * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Carries a value into a concurrent closure whose safety the engine
/// guarantees by construction (disjoint output ranges).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
