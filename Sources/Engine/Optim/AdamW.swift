import Foundation
import Support

/// AdamW with decoupled weight decay and bias correction, as
/// `torch.optim.AdamW` computes it:
///
///     θ ← θ·(1 − lr·λ)
///     m ← β₁m + (1−β₁)g,   v ← β₂v + (1−β₂)g²
///     θ ← θ − lr · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
///
/// Frozen parameters (`requiresGrad == false`) are skipped and keep no state.
/// The moments and step count are the `state`, which `save`/`load` write as a
/// safetensors archive so a run can resume exactly.
public final class AdamW {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var learningRate: Float
        public var beta1: Float
        public var beta2: Float
        public var eps: Float
        public var weightDecay: Float

        public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
            self.learningRate = learningRate
            self.beta1 = beta1
            self.beta2 = beta2
            self.eps = eps
            self.weightDecay = weightDecay
        }
    }

    public var hyperparameters: Hyperparameters
    public let parameters: [Variable]
    public private(set) var step = 0
    private var moments: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]

    public init(parameters: [Variable], _ hyperparameters: Hyperparameters = .init()) throws {
        let names = parameters.map(\.name)
        try require(Set(names).count == names.count, "AdamW", "parameter names must be unique (they key the saved state)")
        self.parameters = parameters
        self.hyperparameters = hyperparameters
    }

    /// One update with the accumulated gradients, at `learningRate` if given
    /// (a schedule's value for this step), then clears the gradients.
    public func update(learningRate: Float? = nil) {
        step += 1
        let h = hyperparameters
        let lr = learningRate ?? h.learningRate
        let correction1 = 1 - Foundation.pow(h.beta1, Float(step))
        let correction2 = 1 - Foundation.pow(h.beta2, Float(step))
        for p in parameters where p.requiresGrad {
            guard let g = p.grad else { continue }
            let state = moments[ObjectIdentifier(p)] ?? (Tensor(zeros: p.shape), Tensor(zeros: p.shape))
            moments[ObjectIdentifier(p)] = state
            let theta = p.value.pointer
            let grad = g.pointer
            let m = state.m.pointer
            let v = state.v.pointer
            let decay = Vec16(repeating: 1 - lr * h.weightDecay)
            let b1 = Vec16(repeating: h.beta1)
            let b2 = Vec16(repeating: h.beta2)
            let stepSize = Vec16(repeating: lr / correction1)
            let rootCorrection2 = Vec16(repeating: correction2.squareRoot())
            let eps = Vec16(repeating: h.eps)
            VectorMath.map(p.value.count) { i, w in
                let gv = load16(grad + i, width: w)
                let mv = b1 * load16(m + i, width: w) + (1 - b1) * gv
                let vv = b2 * load16(v + i, width: w) + (1 - b2) * gv * gv
                let denominator = vv.squareRoot() / rootCorrection2 + eps
                store16(mv, m + i, width: w)
                store16(vv, v + i, width: w)
                store16(load16(theta + i, width: w) * decay - stepSize * mv / denominator, theta + i, width: w)
            }
            p.zeroGrad()
        }
    }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    // MARK: - State

    /// Writes step, hyperparameters and both moments of every parameter.
    public func save(to url: URL) throws {
        var archive = TensorArchive()
        archive.metadata["step"] = String(step)
        archive.metadata["hyperparameters"] = String(decoding: try JSONEncoder().encode(hyperparameters), as: UTF8.self)
        for p in parameters {
            guard let state = moments[ObjectIdentifier(p)] else { continue }
            archive.tensors["\(p.name).exp_avg"] = state.m
            archive.tensors["\(p.name).exp_avg_sq"] = state.v
        }
        try archive.write(to: url)
    }

    /// Restores what `save` wrote, checking every moment's shape.
    public func load(from url: URL) throws {
        let archive = try TensorArchive(contentsOf: url)
        guard let stepText = archive.metadata["step"], let savedStep = Int(stepText), savedStep >= 0,
            let hyper = archive.metadata["hyperparameters"]
        else {
            throw TensorError.invalidArgument(op: "AdamW.load", detail: "\(url.path) has no optimiser metadata")
        }
        hyperparameters = try JSONDecoder().decode(Hyperparameters.self, from: Data(hyper.utf8))
        var restored: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]
        for p in parameters {
            guard let m = archive.tensors["\(p.name).exp_avg"], let v = archive.tensors["\(p.name).exp_avg_sq"] else { continue }
            try check(
                m.shape == p.shape && v.shape == p.shape, "AdamW.load",
                "state for \(p.name) is \(describe(m.shape)), parameter is \(describe(p.shape))")
            try requireValid(
                m.scalars.allSatisfy(\.isFinite) && v.scalars.allSatisfy { $0.isFinite && $0 >= 0 }, "\(url.path): \(p.name)",
                "moments hold NaN, infinite or negative values")
            restored[ObjectIdentifier(p)] = (m, v)
        }
        moments = restored
        step = savedStep
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`: coefficient `maxNorm/(norm + 1e-6)`,
/// applied only when below 1). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Variable], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters where p.requiresGrad {
        if let g = p.grad { total += Double(VectorMath.dot(g.pointer, g.pointer, g.count)) }
    }
    let norm = Float(total.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for p in parameters where p.requiresGrad {
            if let g = p.grad {
                VectorMath.map(g.count) { i, w in store16(load16(g.pointer + i, width: w) * coefficient, g.pointer + i, width: w) }
            }
        }
    }
    return norm
}
