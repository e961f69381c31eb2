import CPrefetch

/// Single-precision matrix multiply, BLIS-style, for the shapes a transformer
/// uses.
///
///     C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C
///
/// `op(A)` is `A` (stored `[M, K]`, row stride `lda`) or, with `transA`, `Aᵀ`
/// (stored `[K, M]`). `op(B)` is `B` (stored `[K, N]`) or, with `transB`, `Bᵀ`
/// (stored `[N, K]`, PyTorch's `Linear` weight layout).
///
/// Structure: `B` is packed into `NR`-wide column panels and `A` into
/// `MR`-tall row panels, both `KC` deep, so the 12×32 register tile streams
/// through contiguous memory: the B panel stays in L1 while the A block (MC
/// rows) stays in L2. Two cores split the larger of M and N. Decoding (M = 1)
/// and other skinny products take a dot-product path over the weight rows
/// instead, because packing would cost more than the multiply.
public enum GEMM {
    public static let mr = 12
    public static let nr = 32
    static let kc = 256
    static let mc = 96
    static let nc = 4096
}

public typealias Vec16 = SIMD16<Float>

@usableFromInline @inline(__always)
func load16(_ p: UnsafePointer<Float>) -> Vec16 { UnsafeRawPointer(p).loadUnaligned(as: Vec16.self) }

@usableFromInline @inline(__always)
func store16(_ v: Vec16, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec16.self) }

/// `C = alpha · op(A) · op(B) + beta · C` on raw row-major buffers.
/// `parallel: false` keeps it on the calling thread (for callers that already
/// split their work across cores).
public func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m { scaleRow(c + i * ldc, n, beta) }
        return
    }
    if transB && !transA && m <= 8 {
        skinnyGEMM(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, w: b, ldw: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let source = PanelSource.unpacked(b, ldb: ldb, transB: transB)
    if !parallel {
        blockedGEMM(
            rows: 0..<m, cols: 0..<n, k: k, alpha: alpha,
            a: a, lda: lda, transA: transA, b: source, beta: beta, c: c, ldc: ldc)
        return
    }
    splitAcrossCores(m: m, n: n, k: k) { rows, cols in
        blockedGEMM(
            rows: rows, cols: cols, k: k, alpha: alpha,
            a: a, lda: lda, transA: transA, b: source, beta: beta, c: c, ldc: ldc)
    }
}

/// A weight matrix packed once into the GEMM's panel layout.
///
/// Inference multiplies the same weights by fresh activations many times, so
/// packing at load time removes the per-call cost that dominates small-M
/// products. Holds `op(B)` for `X · Wᵀ` with `W` stored `[N, K]`.
public struct PackedMatrix: @unchecked Sendable {
    public let n: Int
    public let k: Int
    let panels: TensorStorage  // [ceil(N/NR)][K][NR]

    public init(weight w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int? = nil) {
        self.n = n
        self.k = k
        let panelCount = (n + GEMM.nr - 1) / GEMM.nr
        panels = TensorStorage(count: panelCount * k * GEMM.nr)
        let dst = panels.pointer
        let ld = ldw ?? k
        Parallel.forRanges(panelCount, minChunk: 8) { range in
            for p in range {
                packB(
                    transB: true, b: w, ldb: ld, k0: 0, kc: k, j0: p * GEMM.nr, jc: min(GEMM.nr, n - p * GEMM.nr),
                    into: dst + p * k * GEMM.nr)
            }
        }
    }

    public init(_ weight: Tensor) throws {
        try require(weight.rank == 2, "PackedMatrix", "weight must be [N, K], got \(describe(weight.shape))")
        self.init(weight: weight.pointer, n: weight.shape[0], k: weight.shape[1])
    }
}

/// `C = alpha · A · Wᵀ + beta · C` with `W` pre-packed.
public func sgemm(
    m: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, packed: PackedMatrix,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || packed.n == 0 { return }
    if m <= 4 {
        skinnyPackedGEMM(m: m, alpha: alpha, a: a, lda: lda, packed: packed, beta: beta, c: c, ldc: ldc)
        return
    }
    let source = PanelSource.packed(packed.panels.pointer, k: packed.k)
    splitAcrossCores(m: m, n: packed.n, k: packed.k) { rows, cols in
        blockedGEMM(
            rows: rows, cols: cols, k: packed.k, alpha: alpha,
            a: a, lda: lda, transA: false, b: source, beta: beta, c: c, ldc: ldc)
    }
}

/// Where the B panels come from: packed on the fly, or pre-packed.
enum PanelSource {
    case unpacked(UnsafePointer<Float>, ldb: Int, transB: Bool)
    case packed(UnsafePointer<Float>, k: Int)
}

/// Splits the output between cores in whole tiles.
/// Work below ~1 MFLOP stays on one core: a dispatch costs more.
@inline(__always)
func splitAcrossCores(m: Int, n: Int, k: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
    let threads = Parallel.threadCount
    if threads == 1 || m * n * k < 1 << 19 {
        body(0..<m, 0..<n)
        return
    }
    let tilesM = (m + GEMM.mr - 1) / GEMM.mr
    let tilesN = (n + GEMM.nr - 1) / GEMM.nr
    // Each core packs all of the operand it does not split, so split the side
    // whose other operand is smaller: rows when B (K×N) is the smaller to pack twice.
    let splitRows = tilesN < threads || (n <= m && tilesM >= threads)
    let tiles = splitRows ? tilesM : tilesN
    let parts = min(threads, tiles)
    Parallel.forEach(parts) { t in
        let lo = tiles * t / parts
        let hi = tiles * (t + 1) / parts
        if splitRows {
            body(min(lo * GEMM.mr, m)..<min(hi * GEMM.mr, m), 0..<n)
        } else {
            body(0..<m, min(lo * GEMM.nr, n)..<min(hi * GEMM.nr, n))
        }
    }
}

/// One core's share of the product: the classic five loops around the
/// microkernel.
func blockedGEMM(
    rows: Range<Int>, cols: Range<Int>, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, transA: Bool, b: PanelSource,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if rows.isEmpty || cols.isEmpty { return }
    let mr = GEMM.mr
    let nr = GEMM.nr
    let kcMax = min(GEMM.kc, k)
    let ncMax = min(GEMM.nc, (cols.count + nr - 1) / nr * nr)
    let mcMax = min(GEMM.mc, (rows.count + mr - 1) / mr * mr)
    withScratch(kcMax * ncMax) { bPack in
        withScratch(kcMax * mcMax) { aPack in
            withScratch(mr * nr) { edge in
                for j0 in stride(from: cols.lowerBound, to: cols.upperBound, by: GEMM.nc) {
                    let jc = min(GEMM.nc, cols.upperBound - j0)
                    let panelCount = (jc + nr - 1) / nr
                    for p0 in stride(from: 0, to: k, by: GEMM.kc) {
                        let kc = min(GEMM.kc, k - p0)
                        // Later K blocks add onto what the first one wrote.
                        let blockBeta: Float = p0 == 0 ? beta : 1
                        var panelStride = kc * nr
                        let bBase: UnsafePointer<Float>
                        switch b {
                        case let .unpacked(ptr, ldb, transB):
                            for p in 0..<panelCount {
                                packB(
                                    transB: transB, b: ptr, ldb: ldb, k0: p0, kc: kc, j0: j0 + p * nr,
                                    jc: min(nr, j0 + jc - (j0 + p * nr)), into: bPack + p * kc * nr)
                            }
                            bBase = UnsafePointer(bPack)
                        case let .packed(ptr, fullK):
                            // Pre-packed panels hold the full K; step to this K block.
                            panelStride = fullK * nr
                            bBase = ptr + (j0 / nr) * fullK * nr + p0 * nr
                        }
                        for i0 in stride(from: rows.lowerBound, to: rows.upperBound, by: GEMM.mc) {
                            let mc = min(GEMM.mc, rows.upperBound - i0)
                            packA(transA: transA, a: a, lda: lda, i0: i0, mc: mc, k0: p0, kc: kc, into: aPack)
                            for p in 0..<panelCount {
                                let jj = j0 + p * nr
                                let width = min(nr, j0 + jc - jj)
                                let bPanel = bBase + p * panelStride
                                for ii in stride(from: 0, to: mc, by: mr) {
                                    let height = min(mr, mc - ii)
                                    let cTile = c + (i0 + ii) * ldc + jj
                                    if width == nr {
                                        microkernel(
                                            kc, aPack + ii * kc, bPanel, cTile, ldc, alpha, blockBeta, rows: height,
                                            prefetch: bPanel + panelStride)
                                    } else {
                                        // Narrow edge tiles go through a full scratch tile.
                                        microkernel(kc, aPack + ii * kc, bPanel, edge, nr, alpha, 0, rows: mr, prefetch: bPanel)
                                        for r in 0..<height {
                                            for s in 0..<width {
                                                let dst = cTile + r * ldc + s
                                                dst.pointee = edge[r * nr + s] + (blockBeta == 0 ? 0 : blockBeta * dst.pointee)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Packs op(A)[i0..<i0+mc, k0..<k0+kc] into MR-tall panels: panel `r` holds,
/// for each k, its MR row values contiguously (zero beyond the last row).
@inline(__always)
func packA(
    transA: Bool, a: UnsafePointer<Float>, lda: Int, i0: Int, mc: Int, k0: Int, kc: Int,
    into dst: UnsafeMutablePointer<Float>
) {
    let mr = GEMM.mr
    for r0 in stride(from: 0, to: mc, by: mr) {
        let height = min(mr, mc - r0)
        let panel = dst + r0 * kc
        if transA {
            // op(A)[i, p] = A[p, i]: the MR values for one k are contiguous.
            for p in 0..<kc {
                let src = a + (k0 + p) * lda + i0 + r0
                let out = panel + p * mr
                for r in 0..<height { out[r] = src[r] }
                for r in height..<mr { out[r] = 0 }
            }
        } else {
            for r in 0..<height {
                let src = a + (i0 + r0 + r) * lda + k0
                for p in 0..<kc { panel[p * mr + r] = src[p] }
            }
            if height < mr {
                for p in 0..<kc { for r in height..<mr { panel[p * mr + r] = 0 } }
            }
        }
    }
}

/// Packs op(B)[k0..<k0+kc, j0..<j0+jc] (jc ≤ NR) into one NR-wide panel.
@inline(__always)
func packB(
    transB: Bool, b: UnsafePointer<Float>, ldb: Int, k0: Int, kc: Int, j0: Int, jc: Int,
    into dst: UnsafeMutablePointer<Float>
) {
    let nr = GEMM.nr
    if transB {
        // op(B)[p, j] = B[j, p]: each weight row becomes one column of the panel.
        for s in 0..<jc {
            let src = b + (j0 + s) * ldb + k0
            for p in 0..<kc { dst[p * nr + s] = src[p] }
        }
        if jc < nr { for p in 0..<kc { for s in jc..<nr { dst[p * nr + s] = 0 } } }
    } else if jc == nr {
        for p in 0..<kc {
            let src = b + (k0 + p) * ldb + j0
            store16(load16(src), dst + p * nr)
            store16(load16(src + 16), dst + p * nr + 16)
        }
    } else {
        for p in 0..<kc {
            let src = b + (k0 + p) * ldb + j0
            for s in 0..<jc { dst[p * nr + s] = src[s] }
            for s in jc..<nr { dst[p * nr + s] = 0 }
        }
    }
}

/// The 12×32 register tile: 24 AVX-512 accumulators, one broadcast of A and
/// two loads of B per k. `InlineArray` with constant trip counts unrolls into
/// registers (checked in the disassembly: 24 `vfmadd231ps`, no spills).
/// It must stay a separate function: inlined into the blocking loops, LLVM
/// keeps the accumulators on the stack and the kernel runs 2.4x slower.
/// Only the first `rows` rows are stored, so a short last row tile (a batch
/// of 32 is 12 + 12 + 8) writes straight into C. `prefetch` is the next
/// panel, requested two cache lines per k step: with few rows a panel is used
/// only briefly, and without this the first pass over each panel of a large
/// weight (the 113 MB output head) waits on DRAM.
@inline(never)
func microkernel(
    _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float, rows: Int,
    prefetch: UnsafePointer<Float>
) {
    var acc = InlineArray<24, Vec16>(repeating: Vec16())
    var ap = a
    var bp = b
    var next = prefetch
    for _ in 0..<kc {
        zerosearch_prefetch(next)
        zerosearch_prefetch(next + 16)
        next += 32
        let b0 = load16(bp)
        let b1 = load16(bp + 16)
        for i in 0..<12 {
            let x = Vec16(repeating: ap[i])
            acc[2 * i] = acc[2 * i].addingProduct(x, b0)
            acc[2 * i + 1] = acc[2 * i + 1].addingProduct(x, b1)
        }
        ap += 12
        bp += 32
    }
    for i in 0..<12 where i < rows {
        let row = c + i * ldc
        var lo = acc[2 * i] * alpha
        var hi = acc[2 * i + 1] * alpha
        if beta != 0 {
            lo = lo.addingProduct(load16(row), Vec16(repeating: beta))
            hi = hi.addingProduct(load16(row + 16), Vec16(repeating: beta))
        }
        store16(lo, row)
        store16(hi, row + 16)
    }
}

@inline(__always)
func scaleRow(_ row: UnsafeMutablePointer<Float>, _ n: Int, _ beta: Float) {
    if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
}
