/// Row lookup `out[i] = table[ids[i]]`; backward scatter-adds rows of the
/// gradient into the table's gradient (repeated ids add up).
extension Tape {
    public func embedding(_ table: Variable, ids: [Int32]) throws -> Variable {
        let op = "embedding"
        try check(table.value.rank == 2, op, "table must be [vocab, dim], got \(describe(table.shape))")
        let vocab = table.shape[0]
        let dim = table.shape[1]
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw TensorError.invalidArgument(op: op, detail: "token id \(bad) outside vocabulary of \(vocab)")
        }
        let out = Tensor(zeros: [ids.count, dim])
        for (i, id) in ids.enumerated() {
            (out.pointer + i * dim).update(from: table.value.pointer + Int(id) * dim, count: dim)
        }
        return output(out, inputs: [table]) { dy in
            let dTable = table.isLeaf ? table.gradBuffer() : Tensor(zeros: table.shape)
            for (i, id) in ids.enumerated() {
                VectorMath.axpy(1, dy.pointer + i * dim, dTable.pointer + Int(id) * dim, dim)
            }
            if !table.isLeaf { table.accumulate(dTable) }
        }
    }
}
