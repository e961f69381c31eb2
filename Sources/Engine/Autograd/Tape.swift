/// Records the operations of a forward pass so `backward` can replay their
/// gradient rules in reverse.
///
/// The ops are coarse (a whole linear layer, a whole attention), so the tape
/// holds a few hundred closures for a 30-layer decoder and its overhead is
/// negligible next to the kernels. A tape that is not recording (inference)
/// runs the same forward code without saving activations. See
/// docs/engine.md for why a tape of coarse ops rather than hand-chained
/// per-layer backward functions.
public final class Tape {
    public let isRecording: Bool
    private var entries: [(output: Variable, backward: (Tensor) throws -> Void)] = []

    public init(recording: Bool = true) { isRecording = recording }

    /// A tape that records nothing: the forward pass of inference.
    public static var inference: Tape { Tape(recording: false) }

    public var count: Int { entries.count }

    /// Wraps an op's result. When recording and any input needs a gradient, the
    /// result needs one too and `backward` (given the result's gradient)
    /// is kept for the reverse pass.
    func output(_ value: Tensor, inputs: [Variable], backward: @escaping (Tensor) throws -> Void) -> Variable {
        let needsGrad = isRecording && inputs.contains { $0.requiresGrad }
        let result = Variable(intermediate: value, requiresGrad: needsGrad)
        if needsGrad { entries.append((result, backward)) }
        return result
    }

    /// Runs the reverse pass from a scalar `loss` (seed gradient `seed`),
    /// accumulating into every leaf that requires a gradient. Intermediate
    /// gradients and saved activations are released as the tape unwinds.
    public func backward(_ loss: Variable, seed: Float = 1) throws {
        try check(loss.value.count == 1, "backward", "loss must be a scalar, got \(describe(loss.shape))")
        guard loss.requiresGrad else { return }
        loss.accumulate(Tensor(repeating: seed, shape: loss.shape))
        while let entry = entries.popLast() {
            if let g = entry.output.grad { try entry.backward(g) }
            entry.output.releaseGrad()
        }
    }
}
