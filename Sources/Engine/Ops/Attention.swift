import Foundation

/// Causal multi-head attention with grouped-query heads, per-row key padding
/// and optional shared prefixes, as one op.
///
/// Shapes: `q` `[B, T, Hq, D]`, `k` and `v` `[B, T, Hkv, D]` with `Hq` a
/// multiple of `Hkv` (query head `h` reads KV head `h / (Hq/Hkv)`). Query `t`
/// of row `b` attends key `s` iff `s ≤ t` and `keyValid[b·T + s]`. A query
/// with no allowed key (left padding) outputs zeros. The result is
/// `[B, T, Hq·D]`, heads in order, ready for the output projection.
///
/// A row may be packed as a prefix and branches (`SharedPrefix`): a branch's
/// queries then attend to the prefix and to their own branch only, so several
/// continuations of one prompt share the prompt's tokens in one row. Each
/// block of queries (the prefix, each branch) is computed against its keys
/// alone, so the branches cost what separate rows would, less the prefix.
///
/// Forward per (row, head, block): `S = Q·Kᵀ/√D`, mask, `P = softmax(S)`,
/// `O = P·V`. The probabilities `P` are kept for backward (`B·Hq·T²` floats
/// unpacked, 9 MB per layer at 4×256 with 9 heads):
/// `dP = dO·Vᵀ`, `dS = P⊙(dP − rowsum(dP⊙P))`, `dQ = dS·K/√D`,
/// `dK += dSᵀ·Q/√D`, `dV += Pᵀ·dO`, the K/V gradients summed over the query
/// heads of a group. Work is split over (row, KV head), so no two threads
/// write the same K/V gradient.
extension Tape {
    public func attention(
        q: Variable, k: Variable, v: Variable, keyValid: [Bool]? = nil, sharedPrefixes: [SharedPrefix]? = nil
    ) throws -> Variable {
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
        let layouts = sharedPrefixes ?? [SharedPrefix](repeating: SharedPrefix(length: time), count: batch)
        try check(layouts.count == batch, op, "\(layouts.count) shared-prefix layouts for \(batch) rows")
        for layout in layouts { try check(layout.fits(time), op, "\(layout) does not lay out a row of \(time) tokens") }

        let geometry = AttentionGeometry(batch: batch, time: time, qHeads: qHeads, kvHeads: kvHeads, dim: dim, layouts: layouts)
        let out = Tensor(zeros: [batch, time, qHeads * dim])
        let probs = Tensor(zeros: [geometry.probsCount])
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

/// A row packed as a prefix read by every branch, then branches that do not
/// read each other (tokens outside both are padding).
public struct SharedPrefix: Sendable, Equatable, CustomStringConvertible {
    /// Tokens `0..<length` are the prefix.
    public var length: Int
    /// Ranges after the prefix, in order and apart; each attends to the
    /// prefix and, causally, to itself.
    public var branches: [Range<Int>]

    public init(length: Int, branches: [Range<Int>] = []) {
        self.length = length
        self.branches = branches
    }

    public var description: String { "prefix \(length), branches \(branches.map { "\($0.lowerBound)..<\($0.upperBound)" })" }

    func fits(_ time: Int) -> Bool {
        var end = length
        for branch in branches {
            if branch.lowerBound < end { return false }
            end = branch.upperBound
        }
        return length >= 0 && end <= time
    }

    /// Query blocks with the key ranges each reads; the last range is the
    /// block's own (causal), any before it the prefix (read whole).
    var blocks: [(queries: Range<Int>, keys: [Range<Int>])] {
        let prefix = 0..<length
        let own = prefix.isEmpty ? [] : [(queries: prefix, keys: [prefix])]
        return own + branches.map { (queries: $0, keys: prefix.isEmpty ? [$0] : [prefix, $0]) }
    }
}

struct AttentionGeometry {
    let batch, time, qHeads, kvHeads, dim: Int
    let blocks: [[(queries: Range<Int>, keys: [Range<Int>])]]
    /// Where each row's probabilities start, per head `rowProbs[b]` floats apart.
    let probsStart: [Int]
    let rowProbs: [Int]

    init(batch: Int, time: Int, qHeads: Int, kvHeads: Int, dim: Int, layouts: [SharedPrefix]) {
        (self.batch, self.time, self.qHeads, self.kvHeads, self.dim) = (batch, time, qHeads, kvHeads, dim)
        blocks = layouts.map(\.blocks)
        rowProbs = blocks.map { $0.reduce(0) { $0 + $1.queries.count * $1.keys.reduce(0) { $0 + $1.count } } }
        var start = 0
        probsStart = rowProbs.map { size in
            defer { start += size * qHeads }
            return start
        }
    }

    var group: Int { qHeads / kvHeads }
    var scale: Float { 1 / Float(dim).squareRoot() }
    var qStride: Int { qHeads * dim }
    var kvStride: Int { kvHeads * dim }
    var probsCount: Int { rowProbs.reduce(0, +) * qHeads }

    func qOffset(_ b: Int, _ h: Int) -> Int { b * time * qStride + h * dim }
    func kvOffset(_ b: Int, _ g: Int) -> Int { b * time * kvStride + g * dim }

    /// Runs `body` for each head of the task's group and each block of its
    /// row, with the block's probabilities (`queries × width`, row-major).
    func eachBlock(
        task: Int, probs: Tensor,
        _ body: (_ b: Int, _ h: Int, _ queries: Range<Int>, _ keys: [Range<Int>], _ width: Int, _ p: UnsafeMutablePointer<Float>) -> Void
    ) {
        let b = task / kvHeads
        let g = task % kvHeads
        for h in g * group..<(g + 1) * group {
            var offset = probsStart[b] + h * rowProbs[b]
            for (queries, keys) in blocks[b] {
                let width = keys.reduce(0) { $0 + $1.count }
                body(b, h, queries, keys, width, probs.pointer + offset)
                offset += queries.count * width
            }
        }
    }

    func forward(task: Int, q: Tensor, k: Tensor, v: Tensor, valid: [Bool], probs: Tensor, out: Tensor) {
        let kv = kvOffset(task / kvHeads, task % kvHeads)
        eachBlock(task: task, probs: probs) { b, h, queries, keys, width, p in
            let m = queries.count
            let qBlock = q.pointer + qOffset(b, h) + queries.lowerBound * qStride
            var column = 0
            for range in keys {
                sgemm(
                    transA: false, transB: true, m: m, n: range.count, k: dim, alpha: scale,
                    a: qBlock, lda: qStride, b: k.pointer + kv + range.lowerBound * kvStride, ldb: kvStride,
                    c: p + column, ldc: width, parallel: false)
                column += range.count
            }
            for (i, t) in queries.enumerated() {
                let row = p + i * width
                var any = false
                var column = 0
                for range in keys {
                    for s in range {
                        if s <= t && valid[b * time + s] { any = true } else { row[column] = -.infinity }
                        column += 1
                    }
                }
                if any { softmaxInPlace(row, width) } else { row.update(repeating: 0, count: width) }
            }
            column = 0
            for (j, range) in keys.enumerated() {
                sgemm(
                    transA: false, transB: false, m: m, n: dim, k: range.count, a: p + column, lda: width,
                    b: v.pointer + kv + range.lowerBound * kvStride, ldb: kvStride, beta: j == 0 ? 0 : 1,
                    c: out.pointer + qOffset(b, h) + queries.lowerBound * qStride, ldc: qStride, parallel: false)
                column += range.count
            }
        }
    }

    func backward(task: Int, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, dOut: Tensor, dq: Tensor, dk: Tensor, dv: Tensor) {
        let kv = kvOffset(task / kvHeads, task % kvHeads)
        let widest = blocks[task / kvHeads].map { $0.queries.count * $0.keys.reduce(0) { $0 + $1.count } }.max() ?? 0
        withScratch(widest) { dS in
            eachBlock(task: task, probs: probs) { b, h, queries, keys, width, p in
                let m = queries.count
                let rows = qOffset(b, h) + queries.lowerBound * qStride
                let dO = dOut.pointer + rows
                var column = 0
                for range in keys {
                    sgemm(
                        transA: false, transB: true, m: m, n: range.count, k: dim, a: dO, lda: qStride,
                        b: v.pointer + kv + range.lowerBound * kvStride, ldb: kvStride, c: dS + column, ldc: width, parallel: false)
                    column += range.count
                }
                for i in 0..<m {
                    let pr = p + i * width
                    let dr = dS + i * width
                    let dot = VectorMath.dot(pr, dr, width)
                    for s in 0..<width { dr[s] = pr[s] * (dr[s] - dot) }
                }
                column = 0
                for (j, range) in keys.enumerated() {
                    let keyRows = kv + range.lowerBound * kvStride
                    sgemm(
                        transA: false, transB: false, m: m, n: dim, k: range.count, alpha: scale, a: dS + column, lda: width,
                        b: k.pointer + keyRows, ldb: kvStride, beta: j == 0 ? 0 : 1, c: dq.pointer + rows, ldc: qStride,
                        parallel: false)
                    sgemm(
                        transA: true, transB: false, m: range.count, n: dim, k: m, alpha: scale, a: dS + column, lda: width,
                        b: q.pointer + rows, ldb: qStride, beta: 1, c: dk.pointer + keyRows, ldc: kvStride, parallel: false)
                    sgemm(
                        transA: true, transB: false, m: range.count, n: dim, k: m, a: p + column, lda: width,
                        b: dO, ldb: qStride, beta: 1, c: dv.pointer + keyRows, ldc: kvStride, parallel: false)
                    column += range.count
                }
            }
        }
    }
}
