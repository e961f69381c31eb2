import Foundation

/// `y = x / sqrt(mean(x²) + eps) · w` over the last axis.
///
/// With `r = 1/sqrt(mean(x²)+eps)` saved per row, backward is
/// `dx = r·(w⊙dy) − x·r³/n · Σ(w⊙dy⊙x)` and `dw = Σ_rows dy⊙x·r`.
extension Tape {
    public func rmsNorm(_ x: Variable, weight: Variable, eps: Float) throws -> Variable {
        let op = "rmsNorm"
        let n = x.shape.last ?? 0
        try check(weight.shape == [n], op, "weight \(describe(weight.shape)) for input \(describe(x.shape))")
        try require(eps >= 0, op, "eps must be non-negative, got \(eps)")
        let rows = x.value.count / max(n, 1)
        let y = Tensor(uninitialized: x.shape)
        let inverseRMS = Tensor(uninitialized: [rows])
        let xs = x.value.pointer
        let w = weight.value.pointer
        rmsNormRows(xs, weight: w, into: y.pointer, rows: rows, width: n, eps: eps, inverseRMS: inverseRMS.pointer)
        return output(y, inputs: [x, weight]) { dy in
            let dx = Tensor(zeros: x.shape)
            let dw = Tensor(zeros: [n])
            let partials = Tensor(zeros: [Parallel.threadCount, n])
            // Each chunk accumulates its share of dw in its own row of `partials`. (A
            // row computed from the range's start put both halves of an odd row count
            // into row 0: two threads adding into one buffer, lost updates.)
            Parallel.forChunks(rows, minChunk: max(1, 32768 / max(n, 1))) { chunk, range in
                let dwPart = partials.pointer + chunk * n
                for r in range {
                    let row = xs + r * n
                    let g = dy.pointer + r * n
                    let out = dx.pointer + r * n
                    let inv = inverseRMS.pointer[r]
                    var dot: Float = 0
                    for j in 0..<n { dot += w[j] * g[j] * row[j] }
                    let coefficient = dot * inv * inv * inv / Float(n)
                    for j in 0..<n {
                        out[j] = inv * w[j] * g[j] - row[j] * coefficient
                        dwPart[j] += g[j] * row[j] * inv
                    }
                }
            }
            for t in 0..<Parallel.threadCount { VectorMath.axpy(1, partials.pointer + t * n, dw.pointer, n) }
            x.accumulate(dx)
            weight.accumulate(dw)
        }
    }
}

/// `out[r] = x[r] / sqrt(mean(x[r]²) + eps) ⊙ w` for `rows` rows of `width`,
/// optionally keeping each row's `1/rms` (backward needs it).
public func rmsNormRows(
    _ x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
    rows: Int, width n: Int, eps: Float, inverseRMS: UnsafeMutablePointer<Float>? = nil
) {
    let destination = UncheckedSendable(out)
    let saved = UncheckedSendable(inverseRMS)
    Parallel.forRanges(rows, minChunk: max(1, 32768 / max(n, 1))) { range in
        for r in range {
            let row = x + r * n
            let y = destination.value + r * n
            let inv = 1 / (VectorMath.dot(row, row, n) / Float(n) + eps).squareRoot()
            saved.value?[r] = inv
            for j in 0..<n { y[j] = row[j] * inv * w[j] }
        }
    }
}
