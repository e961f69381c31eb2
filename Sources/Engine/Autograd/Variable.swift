/// A tensor in a computation, with the gradient the backward pass gives it.
///
/// Two kinds exist: *leaves* (parameters and inputs, created by you) whose
/// gradients accumulate in an owned buffer across backward passes, which is
/// what gradient accumulation over micro-batches needs; and *intermediates*
/// (created by ops) whose gradients live only while the tape unwinds.
public final class Variable {
    public let value: Tensor
    public internal(set) var grad: Tensor?
    /// Leaves: whether to compute a gradient (false freezes a parameter).
    public var requiresGrad: Bool
    public let isLeaf: Bool
    public let name: String

    /// A leaf: a parameter (`requiresGrad: true`) or a constant input.
    public init(_ value: Tensor, requiresGrad: Bool = false, name: String = "") {
        self.value = value
        self.requiresGrad = requiresGrad
        isLeaf = true
        self.name = name
    }

    init(intermediate value: Tensor, requiresGrad: Bool) {
        self.value = value
        self.requiresGrad = requiresGrad
        isLeaf = false
        name = ""
    }

    public var shape: [Int] { value.shape }

    /// Adds `g` into this variable's gradient. Leaves own their buffer and add
    /// in place; intermediates adopt the first gradient without copying and
    /// allocate only when a second one arrives (a value used twice).
    func accumulate(_ g: Tensor) {
        guard requiresGrad else { return }
        if isLeaf {
            VectorMath.axpy(1, g.pointer, gradBuffer().pointer, g.count)
        } else if let existing = grad {
            let sum = existing.copy()
            VectorMath.axpy(1, g.pointer, sum.pointer, g.count)
            grad = sum
        } else {
            grad = g
        }
    }

    /// The leaf's gradient buffer, allocated (zeroed) on first use, for kernels
    /// that accumulate straight into it (GEMM with beta = 1).
    func gradBuffer() -> Tensor {
        if let grad { return grad }
        let buffer = Tensor(zeros: value.shape)
        grad = buffer
        return buffer
    }

    /// Clears the accumulated gradient (the optimiser calls this after a step).
    public func zeroGrad() {
        if isLeaf, let grad { grad.pointer.update(repeating: 0, count: grad.count) } else { grad = nil }
    }

    func releaseGrad() { if !isLeaf { grad = nil } }
}
