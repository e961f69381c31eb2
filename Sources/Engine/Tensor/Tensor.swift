/// An n-dimensional Float32 array in contiguous row-major order.
///
/// `Tensor` is a *view*: copying the struct shares the storage, like a numpy
/// array. Reshape and slicing along the first axis are free; `copy()` gives an
/// independent buffer. Kernels read and write through `pointer`.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let storage: TensorStorage
    public let offset: Int

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer + offset }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(describe(shape))")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
        offset = 0
    }

    /// Contents undefined: for outputs a kernel writes in full (GEMM with beta 0).
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(describe(shape))")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *), zeroed: false)
        offset = 0
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(zeros: shape)
        pointer.update(repeating: value, count: count)
    }

    public init(shape: [Int], values: [Float]) throws {
        try check(
            shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count, "Tensor.init",
            "\(values.count) values cannot fill shape \(describe(shape))")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    public init(scalar value: Float) { self.init(repeating: value, shape: []) }

    init(shape: [Int], storage: TensorStorage, offset: Int) {
        self.shape = shape
        self.storage = storage
        self.offset = offset
    }

    public var scalars: [Float] { Array(buffer) }
    public var item: Float { pointer[0] }

    public func dim(_ axis: Int) -> Int { shape[axis < 0 ? shape.count + axis : axis] }

    /// Same storage, new shape. One dimension may be `-1` (inferred).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        let inferred = newShape.filter { $0 == -1 }.count
        try require(inferred <= 1 && newShape.allSatisfy { $0 >= -1 }, "reshape", "bad target shape \(describe(newShape))")
        if inferred == 1 {
            try check(known > 0 && count % known == 0, "reshape", "cannot reshape \(describe(shape)) to \(describe(newShape))")
            resolved[newShape.firstIndex(of: -1)!] = count / known
        }
        try check(resolved.reduce(1, *) == count, "reshape", "cannot reshape \(describe(shape)) to \(describe(newShape))")
        return Tensor(shape: resolved, storage: storage, offset: offset)
    }

    /// Rows `range` along the first axis, sharing storage.
    public func slice(_ range: Range<Int>) throws -> Tensor {
        try require(
            rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0], "slice",
            "range \(range) out of bounds for shape \(describe(shape))")
        let rowSize = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(), storage: storage, offset: offset + range.lowerBound * rowSize)
    }

    /// Element `index` along the first axis (drops that axis), sharing storage.
    public func at(_ index: Int) throws -> Tensor {
        try require(rank >= 1 && index >= 0 && index < shape[0], "at", "index \(index) out of bounds for shape \(describe(shape))")
        let rowSize = shape.dropFirst().reduce(1, *)
        return Tensor(shape: Array(shape.dropFirst()), storage: storage, offset: offset + index * rowSize)
    }

    /// An independent copy.
    public func copy() -> Tensor {
        let result = Tensor(zeros: shape)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    /// Swaps the last two axes (a copy: the engine keeps every tensor contiguous).
    public func transposed() throws -> Tensor {
        try require(rank >= 2, "transposed", "needs rank >= 2, got \(describe(shape))")
        let rows = shape[rank - 2]
        let cols = shape[rank - 1]
        let batch = count / max(rows * cols, 1)
        var outShape = shape
        outShape.swapAt(rank - 2, rank - 1)
        let result = Tensor(zeros: outShape)
        let src = pointer
        let dst = result.pointer
        for b in 0..<batch {
            let s = src + b * rows * cols
            let d = dst + b * rows * cols
            // 32x32 blocks keep both sides in L1.
            for i0 in stride(from: 0, to: rows, by: 32) {
                for j0 in stride(from: 0, to: cols, by: 32) {
                    for i in i0..<min(i0 + 32, rows) {
                        for j in j0..<min(j0 + 32, cols) { d[j * rows + i] = s[i * cols + j] }
                    }
                }
            }
        }
        return result
    }

    public var description: String {
        let preview =
            count <= 8
            ? scalars.map { "\($0)" }.joined(separator: ", ")
            : (scalars.prefix(4).map { "\($0)" } + ["…"] + scalars.suffix(2).map { "\($0)" }).joined(separator: ", ")
        return "Tensor\(describe(shape))(\(preview))"
    }
}
