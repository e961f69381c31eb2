import Foundation

/// Causal multi-head attention with grouped-query heads and per-row key
/// padding, as one op.
///
/// Shapes: `q` `[B, T, Hq, D]`, `k` and `v` `[B, T, Hkv, D]` with `Hq` a
/// multiple of `Hkv` (query head `h` reads KV head `h / (Hq/Hkv)`). Query `t`
/// of row `b` attends key `s` iff `s ≤ t` and `keyValid[b·T + s]`. A query
/// with no allowed key (left padding) outputs zeros. The result is
/// `[B, T, Hq·D]`, heads in order, ready for the output projection.
///
/// Forward per (row, head): `S = Q·Kᵀ/√D`, mask, `P = softmax(S)`, `O = P·V`.
/// The probabilities `P` are kept for backward (`B·Hq·T²` floats, 9 MB per
/// layer at 4×256 with 9 heads):
/// `dP = dO·Vᵀ`, `dS = P⊙(dP − rowsum(dP⊙P))`, `dQ = dS·K/√D`,
/// `dK += dSᵀ·Q/√D`, `dV += Pᵀ·dO`, the K/V gradients summed over the query
/// heads of a group. Work is split over (row, KV head), so no two threads
/// write the same K/V gradient.
extension Tape {
    public func attention(q: Variable, k: Variable, v: Variable, keyValid: [Bool]? = nil) throws -> Variable {
        let op = "attention"
        try check(
            q.value.rank == 4 && k.value.rank == 4 && v.value.rank == 4, op,
            "expected q [B, T, Hq, D], k and v [B, T, Hkv, D]; got \(describe(q.shape)), \(describe(k.shape)), \(describe(v.shape))")
        let (batch, time, qHeads, dim) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let kvHeads = k.shape[2]
        try check(
            k.shape == v.shape && k.shape[0] == batch && k.shape[1] == time && k.shape[3] == dim, op,
            "q \(describe(q.shape)), k \(describe(k.shape)), v \(describe(v.shape)) disagree")
        try check(kvHeads > 0 && qHeads % kvHeads == 0, op, "\(qHeads) query heads are not a multiple of \(kvHeads) KV heads")
        let valid = keyValid ?? [Bool](repeating: true, count: batch * time)
        try check(valid.count == batch * time, op, "keyValid has \(valid.count) entries for \(batch)×\(time) tokens")

        let geometry = AttentionGeometry(batch: batch, time: time, qHeads: qHeads, kvHeads: kvHeads, dim: dim)
        let out = Tensor(zeros: [batch, time, qHeads * dim])
        let probs = Tensor(zeros: [batch, qHeads, time, time])
        Parallel.forEach(batch * kvHeads) { task in
            geometry.forward(task: task, q: q.value, k: k.value, v: v.value, valid: valid, probs: probs, out: out)
        }
        return output(out, inputs: [q, k, v]) { dOut in
            let dq = Tensor(zeros: q.shape)
            let dk = Tensor(zeros: k.shape)
            let dv = Tensor(zeros: v.shape)
            Parallel.forEach(batch * kvHeads) { task in
                geometry.backward(task: task, q: q.value, k: k.value, v: v.value, probs: probs, dOut: dOut, dq: dq, dk: dk, dv: dv)
            }
            q.accumulate(dq)
            k.accumulate(dk)
            v.accumulate(dv)
        }
    }
}

struct AttentionGeometry {
    let batch, time, qHeads, kvHeads, dim: Int
    var group: Int { qHeads / kvHeads }
    var scale: Float { 1 / Float(dim).squareRoot() }
    var qStride: Int { qHeads * dim }
    var kvStride: Int { kvHeads * dim }

    func qOffset(_ b: Int, _ h: Int) -> Int { b * time * qStride + h * dim }
    func kvOffset(_ b: Int, _ g: Int) -> Int { b * time * kvStride + g * dim }
    func probsOffset(_ b: Int, _ h: Int) -> Int { (b * qHeads + h) * time * time }

    func forward(task: Int, q: Tensor, k: Tensor, v: Tensor, valid: [Bool], probs: Tensor, out: Tensor) {
        let b = task / kvHeads
        let g = task % kvHeads
        let kv = kvOffset(b, g)
        for h in g * group..<(g + 1) * group {
            let p = probs.pointer + probsOffset(b, h)
            sgemm(
                transA: false, transB: true, m: time, n: time, k: dim, alpha: scale,
                a: q.pointer + qOffset(b, h), lda: qStride, b: k.pointer + kv, ldb: kvStride,
                c: p, ldc: time, parallel: false)
            for t in 0..<time {
                let row = p + t * time
                var any = false
                for s in 0..<time {
                    if s <= t && valid[b * time + s] { any = true } else { row[s] = -.infinity }
                }
                if any { softmaxInPlace(row, time) } else { row.update(repeating: 0, count: time) }
            }
            sgemm(
                transA: false, transB: false, m: time, n: dim, k: time, a: p, lda: time,
                b: v.pointer + kv, ldb: kvStride, c: out.pointer + qOffset(b, h), ldc: qStride, parallel: false)
        }
    }

    func backward(task: Int, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, dOut: Tensor, dq: Tensor, dk: Tensor, dv: Tensor) {
        let b = task / kvHeads
        let g = task % kvHeads
        let kv = kvOffset(b, g)
        withScratch(time * time) { dS in
            for h in g * group..<(g + 1) * group {
                let p = probs.pointer + probsOffset(b, h)
                let dO = dOut.pointer + qOffset(b, h)
                sgemm(
                    transA: false, transB: true, m: time, n: time, k: dim, a: dO, lda: qStride,
                    b: v.pointer + kv, ldb: kvStride, c: dS, ldc: time, parallel: false)
                for t in 0..<time {
                    let pr = p + t * time
                    let dr = dS + t * time
                    let dot = VectorMath.dot(pr, dr, time)
                    for s in 0..<time { dr[s] = pr[s] * (dr[s] - dot) }
                }
                sgemm(
                    transA: false, transB: false, m: time, n: dim, k: time, alpha: scale, a: dS, lda: time,
                    b: k.pointer + kv, ldb: kvStride, c: dq.pointer + qOffset(b, h), ldc: qStride, parallel: false)
                sgemm(
                    transA: true, transB: false, m: time, n: dim, k: time, alpha: scale, a: dS, lda: time,
                    b: q.pointer + qOffset(b, h), ldb: qStride, beta: 1, c: dk.pointer + kv, ldc: kvStride, parallel: false)
                sgemm(
                    transA: true, transB: false, m: time, n: dim, k: time, a: p, lda: time,
                    b: dO, ldb: qStride, beta: 1, c: dv.pointer + kv, ldc: kvStride, parallel: false)
            }
        }
    }
}
