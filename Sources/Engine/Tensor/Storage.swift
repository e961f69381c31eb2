/// A training step frees and reallocates the same activation sizes hundreds
/// of times. By default glibc hands blocks above 128 KiB back to the kernel,
/// so every step page-faults and re-zeroes them (10% of a step, measured).
/// Keeping them in the heap (up to glibc's 32 MiB mmap ceiling) avoids that.
let heapTuning: Void = {
    #if os(Linux)
        let mmapThreshold: Int32 = -3
        let trimThreshold: Int32 = -1  // M_MMAP_THRESHOLD, M_TRIM_THRESHOLD in <malloc.h>
        _ = glibcMallopt(mmapThreshold, 32 << 20)
        _ = glibcMallopt(trimThreshold, 1 << 30)
    #endif
}()

#if os(Linux)
    // <malloc.h> is not part of Swift's Glibc module.
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// A 64-byte aligned, zero-initialised block of Float32s.
///
/// Tensors share storage: views (reshape, slices along the first axes) point
/// into the same block, so they cost nothing. The alignment lets kernels use
/// aligned 512-bit loads on packed buffers.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// `zeroed: false` skips the fill for buffers a kernel overwrites entirely.
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        _ = heapTuning
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: max(count, 1)) }
        self.count = count
    }

    deinit { pointer.deallocate() }
}

/// Scratch buffers for kernels: aligned, uninitialised, freed on scope exit.
@inlinable
func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * 4, alignment: 64)
    defer { raw.deallocate() }
    return try body(raw.bindMemory(to: Float.self, capacity: max(count, 16)))
}
