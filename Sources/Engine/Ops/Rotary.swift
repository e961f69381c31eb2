import Foundation

/// Rotary position embedding tables: `cos(p·f_i)` and `sin(p·f_i)` for
/// positions `0..<maxPosition` and frequencies `f_i = θ^(−2i/d)`, computed
/// once in double precision and shared by every layer.
public struct RotaryTable: Sendable {
    public let headDim: Int
    public let maxPosition: Int
    public let theta: Double
    let cos: [Float]  // [maxPosition][headDim/2]
    let sin: [Float]

    public init(headDim: Int, maxPosition: Int, theta: Double, frequencyScale: (_ index: Int, _ frequency: Double) -> Double = { $1 })
        throws
    {
        try require(headDim > 0 && headDim % 2 == 0, "RotaryTable", "head dimension must be even, got \(headDim)")
        try require(maxPosition > 0 && theta > 0, "RotaryTable", "needs maxPosition > 0 and theta > 0, got \(maxPosition), \(theta)")
        self.headDim = headDim
        self.maxPosition = maxPosition
        self.theta = theta
        let half = headDim / 2
        var c = [Float](repeating: 0, count: maxPosition * half)
        var s = c
        for i in 0..<half {
            let frequency = frequencyScale(i, Foundation.pow(theta, -2 * Double(i) / Double(headDim)))
            for p in 0..<maxPosition {
                let angle = Double(p) * frequency
                c[p * half + i] = Float(Foundation.cos(angle))
                s[p * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = c
        sin = s
    }
}

/// Rotates each head's halves `(x[i], x[i+d/2])` by the angle of its token's
/// position (the Hugging Face Llama/Qwen2 "rotate_half" convention). Backward
/// rotates the gradient by the opposite angle.
extension Tape {
    /// `x` is `[batch, time, heads, headDim]`; `positions` has `batch·time` entries.
    public func rope(_ x: Variable, positions: [Int32], table: RotaryTable) throws -> Variable {
        let op = "rope"
        try check(
            x.value.rank == 4 && x.shape[3] == table.headDim, op,
            "expected [batch, time, heads, \(table.headDim)], got \(describe(x.shape))")
        let tokens = x.shape[0] * x.shape[1]
        let heads = x.shape[2]
        try check(positions.count == tokens, op, "\(positions.count) positions for \(tokens) tokens of \(describe(x.shape))")
        if let bad = positions.first(where: { $0 < 0 || Int($0) >= table.maxPosition }) {
            throw TensorError.invalidArgument(op: op, detail: "position \(bad) outside the table's 0..<\(table.maxPosition)")
        }
        let y = x.value.copy()
        applyRotary(y.pointer, rowStride: heads * table.headDim, heads: heads, positions: positions, table: table)
        return output(y, inputs: [x]) { dy in
            let dx = dy.copy()
            applyRotary(dx.pointer, rowStride: heads * table.headDim, heads: heads, positions: positions, table: table, direction: -1)
            x.accumulate(dx)
        }
    }
}

/// Rotates, in place, `heads` consecutive head vectors at the start of each
/// of `positions.count` rows that are `rowStride` floats apart (the q and k
/// parts of a fused projection output are rotated where they lie).
public func applyRotary(
    _ x: UnsafeMutablePointer<Float>, rowStride: Int, heads: Int, positions: [Int32],
    table: RotaryTable, direction: Float = 1
) {
    let d = table.headDim
    let half = d / 2
    table.cos.withUnsafeBufferPointer { cosTable in
        table.sin.withUnsafeBufferPointer { sinTable in
            let cosBase = UncheckedSendable(cosTable.baseAddress!)
            let sinBase = UncheckedSendable(sinTable.baseAddress!)
            let rows = UncheckedSendable(x)
            Parallel.forRanges(positions.count, minChunk: max(1, 4096 / max(heads * d, 1))) { range in
                for token in range {
                    let c = cosBase.value + Int(positions[token]) * half
                    let s = sinBase.value + Int(positions[token]) * half
                    for h in 0..<heads {
                        let v = rows.value + token * rowStride + h * d
                        for i in 0..<half {
                            let a = v[i]
                            let b = v[i + half]
                            let sn = direction * s[i]
                            v[i] = a * c[i] - b * sn
                            v[i + half] = b * c[i] + a * sn
                        }
                    }
                }
            }
        }
    }
}
