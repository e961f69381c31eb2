/// `y = x · Wᵀ + b`, the projection of every transformer layer.
///
/// `x` is `[..., in]`, `W` is `[out, in]` (PyTorch's `Linear` layout), `b` is
/// `[out]`. Backward: `dx = dy · W`, `dW += dyᵀ · x`, `db += Σ_rows dy`, the
/// weight gradient accumulated straight into the parameter's buffer.
extension Tape {
    public func linear(_ x: Variable, _ weight: Variable, bias: Variable? = nil) throws -> Variable {
        let shape = try projectionShape("linear", x, weight, bias)
        let y = shape.forward(x, weight.value, bias)
        return output(y, inputs: [x, weight] + (bias.map { [$0] } ?? [])) { dy in
            shape.backward(dy, x, weight, bias, through: weight.value)
        }
    }

    /// `y = x · (W + s·B·A)ᵀ + b`, a LoRA-adapted projection (`A` `[r, in]`,
    /// `B` `[out, r]`), as one product with the merged weight. Backward:
    /// `dx = dy·(W + s·B·A)`, `dB += s·dyᵀ·(x·Aᵀ)`, `dA += s·(dy·B)ᵀ·x`,
    /// `dW += dyᵀ·x` if `W` is trained too. Three products and two
    /// elementwise passes over `[rows, out]` (`x·Wᵀ + s·(x·Aᵀ)·Bᵀ`) cost more
    /// at small rank than the merge (`out·in·r`) and one product, in
    /// forward and again in backward.
    public func loraLinear(_ x: Variable, _ weight: Variable, a: Variable, b: Variable, scale: Float, bias: Variable? = nil) throws
        -> Variable
    {
        let op = "loraLinear"
        let shape = try projectionShape(op, x, weight, bias)
        let (outFeatures, inFeatures, rows) = (shape.outFeatures, shape.inFeatures, shape.rows)
        let rank = a.shape[0]
        try check(
            a.shape == [rank, inFeatures] && b.shape == [outFeatures, rank], op,
            "adapter A \(describe(a.shape)) and B \(describe(b.shape)) do not fit weight \(describe(weight.shape))")
        let merged = weight.value.copy()
        sgemm(
            transA: false, transB: false, m: outFeatures, n: inFeatures, k: rank, alpha: scale, a: b.value.pointer, lda: rank,
            b: a.value.pointer, ldb: inFeatures, beta: 1, c: merged.pointer, ldc: inFeatures)
        let y = shape.forward(x, merged, bias)

        return output(y, inputs: [x, weight, a, b] + (bias.map { [$0] } ?? [])) { dy in
            shape.backward(dy, x, weight, bias, through: merged)
            if b.requiresGrad {
                let projected = Tensor(uninitialized: [rows, rank])
                sgemm(
                    transA: false, transB: true, m: rows, n: rank, k: inFeatures, a: x.value.pointer, lda: inFeatures,
                    b: a.value.pointer, ldb: inFeatures, c: projected.pointer, ldc: rank)
                let dB = Tensor(uninitialized: b.shape)
                sgemm(
                    transA: true, transB: false, m: outFeatures, n: rank, k: rows, alpha: scale, a: dy.pointer, lda: outFeatures,
                    b: projected.pointer, ldb: rank, c: dB.pointer, ldc: rank)
                b.accumulate(dB)
            }
            if a.requiresGrad {
                let back = Tensor(uninitialized: [rows, rank])
                sgemm(
                    transA: false, transB: false, m: rows, n: rank, k: outFeatures, a: dy.pointer, lda: outFeatures,
                    b: b.value.pointer, ldb: rank, c: back.pointer, ldc: rank)
                let dA = Tensor(uninitialized: a.shape)
                sgemm(
                    transA: true, transB: false, m: rank, n: inFeatures, k: rows, alpha: scale, a: back.pointer, lda: rank,
                    b: x.value.pointer, ldb: inFeatures, c: dA.pointer, ldc: inFeatures)
                a.accumulate(dA)
            }
        }
    }

    /// The sizes of a projection of `x` by `weight`, checked.
    private func projectionShape(_ op: String, _ x: Variable, _ weight: Variable, _ bias: Variable?) throws -> Projection {
        try check(
            weight.value.rank == 2 && x.value.rank >= 1 && x.shape.last == weight.shape[1], op,
            "input \(describe(x.shape)) does not match weight \(describe(weight.shape)) (expected [..., in] and [out, in])")
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        if let bias { try check(bias.shape == [outFeatures], op, "bias \(describe(bias.shape)) for weight \(describe(weight.shape))") }
        return Projection(rows: x.value.count / max(inFeatures, 1), outFeatures: outFeatures, inFeatures: inFeatures)
    }

    /// Batched `C[b] = A[b] · B[b]` (or with either side transposed) over
    /// rank-3 tensors: the attention products and any small batched algebra.
    public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) throws -> Variable {
        let op = "matmul"
        try check(
            a.value.rank == 3 && b.value.rank == 3 && a.shape[0] == b.shape[0], op,
            "expected [batch, m, k] and [batch, k, n], got \(describe(a.shape)) and \(describe(b.shape))")
        let batch = a.shape[0]
        let (m, k) = transposeA ? (a.shape[2], a.shape[1]) : (a.shape[1], a.shape[2])
        let (kb, n) = transposeB ? (b.shape[2], b.shape[1]) : (b.shape[1], b.shape[2])
        try check(
            k == kb, op,
            "inner dimensions differ: \(describe(a.shape))\(transposeA ? "ᵀ" : "") · \(describe(b.shape))\(transposeB ? "ᵀ" : "")")
        let c = Tensor(zeros: [batch, m, n])
        let aRows = a.shape[1]
        let lda = a.shape[2]
        let bRows = b.shape[1]
        let ldb = b.shape[2]
        let aStride = aRows * lda
        let bStride = bRows * ldb
        batchedGEMM(
            batch, transposeA, transposeB, m: m, n: n, k: k,
            a: a.value.pointer, aStride, lda, b: b.value.pointer, bStride, ldb, c: c.pointer, m * n, n)
        return output(c, inputs: [a, b]) { dc in
            if a.requiresGrad {
                // dA = dC · op(B)ᵀ, written in A's stored layout: (op(B) · dCᵀ) when A is stored transposed.
                let da = Tensor(zeros: a.shape)
                if transposeA {
                    batchedGEMM(
                        batch, transposeB, true, m: k, n: m, k: n,
                        a: b.value.pointer, bStride, ldb, b: dc.pointer, m * n, n, c: da.pointer, aStride, lda)
                } else {
                    batchedGEMM(
                        batch, false, !transposeB, m: m, n: k, k: n,
                        a: dc.pointer, m * n, n, b: b.value.pointer, bStride, ldb, c: da.pointer, aStride, lda)
                }
                a.accumulate(da)
            }
            if b.requiresGrad {
                // dB = op(A)ᵀ · dC, written in B's stored layout.
                let db = Tensor(zeros: b.shape)
                if transposeB {
                    batchedGEMM(
                        batch, true, transposeA, m: n, n: k, k: m,
                        a: dc.pointer, m * n, n, b: a.value.pointer, aStride, lda, c: db.pointer, bStride, ldb)
                } else {
                    batchedGEMM(
                        batch, !transposeA, false, m: k, n: n, k: m,
                        a: a.value.pointer, aStride, lda, b: dc.pointer, m * n, n, c: db.pointer, bStride, ldb)
                }
                b.accumulate(db)
            }
        }
    }
}

/// `C[i] = op(A[i]) · op(B[i])` for `batch` matrices laid out `stride` apart.
func batchedGEMM(
    _ batch: Int, _ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, _ aStride: Int, _ lda: Int, b: UnsafePointer<Float>, _ bStride: Int, _ ldb: Int,
    c: UnsafeMutablePointer<Float>, _ cStride: Int, _ ldc: Int
) {
    for i in 0..<batch {
        sgemm(
            transA: transA, transB: transB, m: m, n: n, k: k, a: a + i * aStride, lda: lda,
            b: b + i * bStride, ldb: ldb, c: c + i * cStride, ldc: ldc)
    }
}

@inline(__always)
public func addRowVector(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, _ v: UnsafePointer<Float>) {
    for r in 0..<rows { VectorMath.axpy(1, v, y + r * cols, cols) }
}

/// `rows` inputs of width `inFeatures` projected to `outFeatures`: the
/// products `linear` and `loraLinear` share (the latter through its merged weight).
private struct Projection {
    let rows: Int
    let outFeatures: Int
    let inFeatures: Int

    /// `x · Wᵀ + b`.
    func forward(_ x: Variable, _ weight: Tensor, _ bias: Variable?) -> Tensor {
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        sgemm(
            transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures,
            a: x.value.pointer, lda: inFeatures, b: weight.pointer, ldb: inFeatures, c: y.pointer, ldc: outFeatures)
        if let bias { addRowVector(y.pointer, rows: rows, cols: outFeatures, bias.value.pointer) }
        return y
    }

    /// `dx = dy · W` through `effective` (the weight the forward pass used),
    /// `dW += dyᵀ · x` straight into a leaf's gradient buffer, `db += Σ_rows dy`.
    func backward(_ dy: Tensor, _ x: Variable, _ weight: Variable, _ bias: Variable?, through effective: Tensor) {
        if x.requiresGrad {
            let dx = Tensor(uninitialized: x.shape)
            sgemm(
                transA: false, transB: false, m: rows, n: inFeatures, k: outFeatures,
                a: dy.pointer, lda: outFeatures, b: effective.pointer, ldb: inFeatures, c: dx.pointer, ldc: inFeatures)
            x.accumulate(dx)
        }
        if weight.requiresGrad {
            let dW = weight.isLeaf ? weight.gradBuffer() : Tensor(zeros: weight.shape)
            sgemm(
                transA: true, transB: false, m: outFeatures, n: inFeatures, k: rows,
                a: dy.pointer, lda: outFeatures, b: x.value.pointer, ldb: inFeatures,
                beta: weight.isLeaf ? 1 : 0, c: dW.pointer, ldc: inFeatures)
            if !weight.isLeaf { weight.accumulate(dW) }
        }
        if let bias, bias.requiresGrad {
            let db = Tensor(zeros: [outFeatures])
            for r in 0..<rows { VectorMath.axpy(1, dy.pointer + r * outFeatures, db.pointer, outFeatures) }
            bias.accumulate(db)
        }
    }
}
