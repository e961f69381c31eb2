import Foundation

/// Runs CPU-bound work (a forward pass, a generation, an optimiser step) on a
/// thread of its own and suspends the calling task until it is done.
///
/// Swift's concurrency pool has one thread per core. Work that computes for
/// seconds on it leaves nothing to run the timers and network callbacks of
/// other tasks, so a remote search's deadline would fire late by the length
/// of a training phase; off the pool, the engine's kernels still use every
/// core through `Parallel`.
public func computeOffPool<T>(_ body: () throws -> T) async throws -> T {
    try await withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(body)
        let outcome: UncheckedSendable<Result<T, any Error>> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: UncheckedSendable(Result { try work.value() }))
            }
            thread.stackSize = 1 << 23
            thread.start()
        }
        return try outcome.value.get()
    }
}
