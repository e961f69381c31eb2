/// Skinny products `C[m, N] = alpha · A[m, K] · Wᵀ + beta · C` for m ≤ 8 with
/// `W` stored `[N, K]`: each weight row is read once and dotted with every
/// row of A. Decoding is bound by the memory traffic of W (about 33 GB/s per
/// core here), so this path streams W at full bandwidth and splits N across
/// cores instead of packing.
func skinnyGEMM(
    m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    w: UnsafePointer<Float>, ldw: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    // Below ~256K multiply-adds a second thread costs more than it saves.
    let minRows = max(4, (1 << 18) / max(k * m, 1))
    Parallel.forRanges(n, minChunk: minRows) { range in
        var j = range.lowerBound
        while j < range.upperBound {
            let rowsHere = min(4, range.upperBound - j)
            for i in 0..<m {
                let dots = dot4(a + i * lda, w + j * ldw, ldw, rowsHere, k)
                for r in 0..<rowsHere {
                    let dst = c + i * ldc + j + r
                    dst.pointee = alpha * dots[r] + (beta == 0 ? 0 : beta * dst.pointee)
                }
            }
            j += rowsHere
        }
    }
}

/// Dot products of `x` with up to four consecutive rows of `w`.
@inline(__always)
func dot4(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ ldw: Int, _ rows: Int, _ k: Int) -> SIMD4<Float> {
    var s0 = Vec16()
    var s1 = Vec16()
    var s2 = Vec16()
    var s3 = Vec16()
    let w0 = w
    let w1 = w + (rows > 1 ? ldw : 0)
    let w2 = w + (rows > 2 ? 2 * ldw : 0)
    let w3 = w + (rows > 3 ? 3 * ldw : 0)
    var p = 0
    while p + 16 <= k {
        let xv = load16(x + p)
        s0 = s0.addingProduct(xv, load16(w0 + p))
        s1 = s1.addingProduct(xv, load16(w1 + p))
        s2 = s2.addingProduct(xv, load16(w2 + p))
        s3 = s3.addingProduct(xv, load16(w3 + p))
        p += 16
    }
    var result = SIMD4<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum())
    while p < k {
        result += SIMD4(w0[p], w1[p], w2[p], w3[p]) * x[p]
        p += 1
    }
    return result
}

/// The skinny product on pre-packed weights: each 32-wide panel is a
/// contiguous `[K][32]` block, so one row of A times a panel is a stream of
/// broadcast-FMAs at memory speed.
func skinnyPackedGEMM(
    m: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, packed: PackedMatrix,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let nr = GEMM.nr
    let k = packed.k
    let n = packed.n
    let panels = packed.panels.pointer
    let panelCount = (n + nr - 1) / nr
    let minPanels = max(1, (1 << 18) / max(k * nr * m, 1))
    Parallel.forRanges(panelCount, minChunk: minPanels) { range in
        for p in range {
            let panel = panels + p * k * nr
            let width = min(nr, n - p * nr)
            for i in 0..<m {
                let x = a + i * lda
                var lo0 = Vec16()
                var hi0 = Vec16()
                var lo1 = Vec16()
                var hi1 = Vec16()
                var q = 0
                // Two k steps per iteration: four independent FMA chains hide latency.
                while q + 2 <= k {
                    let x0 = Vec16(repeating: x[q])
                    let x1 = Vec16(repeating: x[q + 1])
                    lo0 = lo0.addingProduct(x0, load16(panel + q * nr))
                    hi0 = hi0.addingProduct(x0, load16(panel + q * nr + 16))
                    lo1 = lo1.addingProduct(x1, load16(panel + (q + 1) * nr))
                    hi1 = hi1.addingProduct(x1, load16(panel + (q + 1) * nr + 16))
                    q += 2
                }
                if q < k {
                    let x0 = Vec16(repeating: x[q])
                    lo0 = lo0.addingProduct(x0, load16(panel + q * nr))
                    hi0 = hi0.addingProduct(x0, load16(panel + q * nr + 16))
                }
                let lo = (lo0 + lo1) * alpha
                let hi = (hi0 + hi1) * alpha
                let row = c + i * ldc + p * nr
                for s in 0..<width {
                    let v = s < 16 ? lo[s] : hi[s - 16]
                    row[s] = v + (beta == 0 ? 0 : beta * row[s])
                }
            }
        }
    }
}
