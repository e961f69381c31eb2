import Foundation

/// The SiLU-gated MLP's nonlinearity and the softmax family.
extension Tape {
    /// `silu(gate) ⊙ up`, with `silu(g) = g·σ(g)`.
    /// Backward: `d gate = dy⊙up⊙σ(g)(1 + g(1−σ(g)))`, `d up = dy⊙silu(g)`.
    public func siluMul(_ gate: Variable, _ up: Variable) throws -> Variable {
        try check(gate.shape == up.shape, "siluMul", "gate \(describe(gate.shape)) and up \(describe(up.shape)) differ")
        let g = gate.value
        let u = up.value
        let y = Tensor(uninitialized: gate.shape)
        Parallel.forRanges(g.count, minChunk: 1 << 16) { range in
            let lo = range.lowerBound
            VectorMath.siluMul(g.pointer + lo, u.pointer + lo, into: y.pointer + lo, count: range.count)
        }
        return output(y, inputs: [gate, up]) { dy in
            let dGate = Tensor(zeros: gate.shape)
            let dUp = Tensor(zeros: up.shape)
            VectorMath.map(g.count) { i, w in
                let x = load16(g.pointer + i, width: w)
                let s = VectorMath.sigmoid(x)
                let d = load16(dy.pointer + i, width: w)
                store16(d * load16(u.pointer + i, width: w) * s * (1 + x * (1 - s)), dGate.pointer + i, width: w)
                store16(d * x * s, dUp.pointer + i, width: w)
            }
            gate.accumulate(dGate)
            up.accumulate(dUp)
        }
    }

    /// Softmax over the last axis. Backward: `dx = y⊙(dy − Σ dy⊙y)`.
    public func softmax(_ x: Variable) throws -> Variable {
        let n = try lastAxis("softmax", x)
        let y = x.value.copy()
        forEachRow(y, n) { row in softmaxInPlace(row, n) }
        return output(y, inputs: [x]) { dy in
            let dx = Tensor(zeros: x.shape)
            forEachRow(dx, n) { row in
                let offset = row - dx.pointer
                let p = y.pointer + offset
                let g = dy.pointer + offset
                let dot = VectorMath.dot(p, g, n)
                for j in 0..<n { row[j] = p[j] * (g[j] - dot) }
            }
            x.accumulate(dx)
        }
    }

    /// Log-softmax over the last axis. Backward: `dx = dy − softmax(x)·Σ dy`.
    public func logSoftmax(_ x: Variable) throws -> Variable {
        let n = try lastAxis("logSoftmax", x)
        let y = x.value.copy()
        forEachRow(y, n) { row in
            let logZ = logSumExp(row, n)
            for j in 0..<n { row[j] -= logZ }
        }
        return output(y, inputs: [x]) { dy in
            let dx = Tensor(zeros: x.shape)
            forEachRow(dx, n) { row in
                let offset = row - dx.pointer
                let logp = y.pointer + offset
                let g = dy.pointer + offset
                let total = VectorMath.sum(g, n)
                for j in 0..<n { row[j] = g[j] - Foundation.exp(logp[j]) * total }
            }
            x.accumulate(dx)
        }
    }

    /// Picks `x[..., index[i]]` along the last axis: `[..., n] → [...]`.
    public func gatherLastAxis(_ x: Variable, indices: [Int32]) throws -> Variable {
        let n = try lastAxis("gatherLastAxis", x)
        let rows = x.value.count / max(n, 1)
        try check(indices.count == rows, "gatherLastAxis", "\(indices.count) indices for \(rows) rows of \(describe(x.shape))")
        if let bad = indices.first(where: { $0 < 0 || Int($0) >= n }) {
            throw TensorError.invalidArgument(op: "gatherLastAxis", detail: "index \(bad) outside last axis of \(n)")
        }
        let y = Tensor(zeros: Array(x.shape.dropLast()))
        for r in 0..<rows { y.pointer[r] = x.value.pointer[r * n + Int(indices[r])] }
        return output(y, inputs: [x]) { dy in
            let dx = Tensor(zeros: x.shape)
            for r in 0..<rows { dx.pointer[r * n + Int(indices[r])] = dy.pointer[r] }
            x.accumulate(dx)
        }
    }

    func lastAxis(_ op: String, _ x: Variable) throws -> Int {
        try check(x.value.rank >= 1 && x.shape.last! > 0, op, "needs a non-empty last axis, got \(describe(x.shape))")
        return x.shape.last!
    }
}

func forEachRow(_ t: Tensor, _ n: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
    let rows = t.count / max(n, 1)
    Parallel.forRanges(rows, minChunk: max(1, 16384 / max(n, 1))) { range in
        for r in range { body(t.pointer + r * n) }
    }
}

/// `log Σ exp(x)`, stable.
public func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    let m = VectorMath.max(x, n)
    if m == -.infinity { return -.infinity }
    var acc = Vec16()
    var j = 0
    let mv = Vec16(repeating: m)
    while j + 16 <= n {
        acc += VectorMath.exp(load16(x + j) - mv)
        j += 16
    }
    var s = acc.sum()
    while j < n {
        s += Foundation.exp(x[j] - m)
        j += 1
    }
    return m + Foundation.log(s)
}

public func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = VectorMath.max(x, n)
    let mv = Vec16(repeating: m)
    var acc = Vec16()
    var j = 0
    while j + 16 <= n {
        let e = VectorMath.exp(load16(x + j) - mv)
        store16(e, x + j)
        acc += e
        j += 16
    }
    var s = acc.sum()
    while j < n {
        x[j] = Foundation.exp(x[j] - m)
        s += x[j]
        j += 1
    }
    let inv = 1 / s
    for j in 0..<n { x[j] *= inv }
}
