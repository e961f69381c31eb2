import Engine
import Foundation
import Support

/// Low-rank adapters (LoRA): a frozen weight `W` is used as
/// `W + (α/r)·B·A`, with `A` `[r, in]` and `B` `[out, r]` the only trained
/// parameters. `B` starts at zero, so an adapted model starts identical to
/// its base; turning the adapters off gives the base back, which is the
/// reference model RL needs without a second copy of the weights.
public struct LoRAConfig: Codable, Equatable, Sendable {
    public var rank: Int
    public var alpha: Double
    /// Projection names as PEFT spells them: q_proj, k_proj, v_proj, o_proj,
    /// gate_proj, up_proj, down_proj.
    public var targets: [String]
    /// Adapters on the top `layers` decoder layers only (0: every layer), as
    /// PEFT's `layers_to_transform`. Nothing below the lowest adapted layer
    /// needs a gradient, so the backward pass stops there: on a real model
    /// most of an update's cost.
    public var layers: Int

    public static let projections = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    public init(rank: Int = 8, alpha: Double = 16, targets: [String] = ["q_proj", "k_proj", "v_proj", "o_proj"], layers: Int = 0) {
        self.rank = rank
        self.alpha = alpha
        self.targets = targets
        self.layers = layers
    }

    /// Which of a model's `count` layers get adapters.
    public func adaptedLayers(of count: Int) -> Range<Int> {
        layers == 0 ? 0..<count : max(0, count - layers)..<count
    }

    public var scale: Float { Float(alpha / Double(rank)) }

    public func validate() throws {
        try requireValid(rank > 0, "policy.lora.rank", "must be positive, got \(rank)")
        try requireValid(alpha > 0 && alpha.isFinite, "policy.lora.alpha", "must be positive, got \(alpha)")
        try requireValid(!targets.isEmpty, "policy.lora.targets", "names no projection")
        try requireValid(layers >= 0, "policy.lora.layers", "must be 0 (every layer) or a positive count, got \(layers)")
        for target in targets {
            try requireValid(
                Self.projections.contains(target), "policy.lora.targets",
                "unknown target '\(target)'; use \(Self.projections.joined(separator: ", "))")
        }
    }
}

/// The adapter of one weight.
public final class LoRAAdapter {
    public let a: Variable
    public let b: Variable
    public let scale: Float

    init(weight: Variable, rank: Int, scale: Float, rng: inout RandomGenerator) {
        let (outputs, inputs) = (weight.shape[0], weight.shape[1])
        // PEFT's default: A ~ U(±1/√in) (Kaiming-uniform with a = √5), B = 0.
        let bound = 1 / Float(inputs).squareRoot()
        let base = weight.name.hasSuffix(".weight") ? String(weight.name.dropLast(7)) : weight.name
        a = Variable(rng.uniformTensor([rank, inputs], in: -bound...bound), requiresGrad: true, name: base + ".lora_A.weight")
        b = Variable(Tensor(zeros: [outputs, rank]), requiresGrad: true, name: base + ".lora_B.weight")
        self.scale = scale
    }

    /// `(α/r)·B·A`, the change the adapter makes to its weight.
    public func delta() -> Tensor {
        let outputs = b.shape[0]
        let rank = b.shape[1]
        let inputs = a.shape[1]
        let result = Tensor(zeros: [outputs, inputs])
        sgemm(
            transA: false, transB: false, m: outputs, n: inputs, k: rank, alpha: scale, a: b.value.pointer, lda: rank,
            b: a.value.pointer, ldb: inputs, c: result.pointer, ldc: inputs)
        return result
    }
}

extension Decoder {
    /// Adds adapters to the targeted projections of the adapted layers and freezes
    /// every base weight.
    public func attachLoRA(_ config: LoRAConfig, seed: UInt64) throws {
        try config.validate()
        try require(adapters.isEmpty, "lora", "the decoder already has adapters")
        var rng = RandomGenerator(seed: seed)
        for layer in layers[config.adaptedLayers(of: layers.count)] {
            let named = [
                ("q_proj", layer.wq), ("k_proj", layer.wk), ("v_proj", layer.wv), ("o_proj", layer.wo),
                ("gate_proj", layer.wGate), ("up_proj", layer.wUp), ("down_proj", layer.wDown),
            ]
            for (projection, weight) in named where config.targets.contains(projection) {
                adapters[weight.name] = LoRAAdapter(weight: weight, rank: config.rank, scale: config.scale, rng: &rng)
            }
        }
        parameters.forEach { $0.requiresGrad = false }
        loraConfig = config
    }

    /// The adapters' parameters, in layer order.
    public var adapterParameters: [Variable] {
        parameters.compactMap { adapters[$0.name] }.flatMap { [$0.a, $0.b] }
    }

    /// What training updates: the adapters when there are some, else every weight.
    public var trainableParameters: [Variable] { adapters.isEmpty ? parameters : adapterParameters }

    /// `x·Wᵀ (+ bias)`, plus the adapter's `(α/r)·x·Aᵀ·Bᵀ` when one is attached and enabled.
    func project(_ x: Variable, _ weight: Variable, bias: Variable? = nil, tape: Tape) throws -> Variable {
        guard adaptersEnabled, let adapter = adapters[weight.name] else { return try tape.linear(x, weight, bias: bias) }
        return try tape.loraLinear(x, weight, a: adapter.a, b: adapter.b, scale: adapter.scale, bias: bias)
    }

    /// The weight the model computes with: the base weight plus its enabled
    /// adapter's change (what inference packs, and what a merge writes).
    public func effectiveWeight(_ weight: Variable) -> Tensor {
        guard adaptersEnabled, let adapter = adapters[weight.name] else { return weight.value }
        let merged = adapter.delta()
        VectorMath.axpy(1, weight.value.pointer, merged.pointer, merged.count)
        return merged
    }
}
