/// Shape-only ops: views whose gradients are the same views in reverse.
extension Tape {
    /// Same data, new shape (one dimension may be -1).
    public func reshape(_ x: Variable, _ shape: [Int]) throws -> Variable {
        let y = try x.value.reshaped(shape)
        return output(y, inputs: [x]) { dy in x.accumulate(try dy.reshaped(x.shape)) }
    }

    /// Rows `indices` of a `[rows, n]` tensor, in that order: e.g. the response
    /// positions of a packed batch. Backward scatter-adds into those rows.
    public func selectRows(_ x: Variable, _ indices: [Int]) throws -> Variable {
        let op = "selectRows"
        try check(x.value.rank == 2, op, "expected [rows, n], got \(describe(x.shape))")
        let rows = x.shape[0]
        let n = x.shape[1]
        if let bad = indices.first(where: { $0 < 0 || $0 >= rows }) {
            throw TensorError.invalidArgument(op: op, detail: "row \(bad) outside 0..<\(rows)")
        }
        let y = Tensor(zeros: [indices.count, n])
        for (i, r) in indices.enumerated() { (y.pointer + i * n).update(from: x.value.pointer + r * n, count: n) }
        return output(y, inputs: [x]) { dy in
            let dx = Tensor(zeros: x.shape)
            for (i, r) in indices.enumerated() { VectorMath.axpy(1, dy.pointer + i * n, dx.pointer + r * n, n) }
            x.accumulate(dx)
        }
    }
}
