import Foundation

/// Runs CPU-bound work (a forward pass, a generation, an optimiser step) on a
/// Dispatch thread and suspends the calling task until it is done.
///
/// Swift's concurrency pool has one thread per core. Work that computes for
/// seconds on it leaves nothing to run the timers and network callbacks of
/// other tasks, so a remote search's deadline would fire late by the length
/// of a training phase; off the pool, the engine's kernels still use every
/// core through `Parallel`.
public func computeOffPool<T>(_ body: () throws -> T) async throws -> T {
    try await withoutActuallyEscaping(body) { body in
        // The thread must drop the closure before the caller resumes: it may
        // not outlive this call.
        let work = WorkSlot(body)
        // Dispatch's global queue reuses its threads. A new thread per call
        // made glibc spread allocations over ever more malloc arenas: peak
        // memory of a SmolLM2 training run grew from 5.7 to 10.2 GB in ten steps.
        let outcome: UncheckedSendable<Result<T, any Error>> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                let result = Result { try work.body!() }
                work.body = nil
                continuation.resume(returning: UncheckedSendable(result))
            }
        }
        return try outcome.value.get()
    }
}

private final class WorkSlot<T>: @unchecked Sendable {
    var body: (() throws -> T)?
    init(_ body: @escaping () throws -> T) { self.body = body }
}
