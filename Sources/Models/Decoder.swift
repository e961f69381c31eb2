import Engine
import Support

/// A decoder-only transformer of the Llama family, its parameters and its
/// forward pass on a tape (backward comes from the tape).
///
/// Per layer: `x += o(attn(rope(q(n₁(x))), rope(k(n₁(x))), v(n₁(x))))`, then
/// `x += down(silu(gate(n₂(x))) ⊙ up(n₂(x)))`; a final RMSNorm; the output
/// head is the embedding matrix when tied.
public final class Decoder {
    public struct Layer {
        public let attentionNorm, wq, wk, wv, wo: Variable
        public let bq, bk, bv: Variable?
        public let mlpNorm, wGate, wUp, wDown: Variable
    }

    public let config: DecoderConfig
    public let embedding: Variable
    public let layers: [Layer]
    public let finalNorm: Variable
    public let lmHead: Variable?
    public let rotary: RotaryTable
    /// The blocks a quantised model file stored for some weight matrices
    /// (Hugging Face names), for the inference kernels that read them
    /// directly. Training changes only the f32 values, so an inference model
    /// built later checks that the blocks still reproduce them.
    public let quantizedWeights: [String: QuantizedBlocks]
    /// LoRA adapters by the name of the weight they adapt (see `attachLoRA`).
    public internal(set) var adapters: [String: LoRAAdapter] = [:]
    public internal(set) var loraConfig: LoRAConfig?
    /// Off, the decoder computes with its base weights alone.
    public var adaptersEnabled = true

    /// The matrix the output logits are computed with.
    public var outputWeight: Variable { lmHead ?? embedding }

    /// Every parameter, with Hugging Face names (`model.layers.0.self_attn.q_proj.weight`, …).
    public var parameters: [Variable] {
        var all = [embedding]
        for layer in layers {
            all += [layer.attentionNorm, layer.wq, layer.wk, layer.wv, layer.wo, layer.mlpNorm, layer.wGate, layer.wUp, layer.wDown]
            all += [layer.bq, layer.bk, layer.bv].compactMap { $0 }
        }
        return all + [finalNorm] + (lmHead.map { [$0] } ?? [])
    }

    /// Random initialisation (normal, std 0.02; norms at 1, biases at 0), as
    /// HF's `initializer_range` default.
    public convenience init(config: DecoderConfig, seed: UInt64, std: Float = 0.02) throws {
        var rng = RandomGenerator(seed: seed)
        try self.init(config: config) { name, shape in
            if name.hasSuffix("norm.weight") { return Tensor(repeating: 1, shape: shape) }
            if name.hasSuffix(".bias") { return Tensor(zeros: shape) }
            return rng.normalTensor(shape, std: std)
        }
    }

    /// A decoder holding the given tensors, keyed by Hugging Face names. Every
    /// parameter the configuration implies must be present with its shape;
    /// extra entries (a tied checkpoint's duplicate `lm_head.weight`, rotary
    /// buffers) are ignored.
    public convenience init(config: DecoderConfig, weights: [String: Tensor], quantizedWeights: [String: QuantizedBlocks] = [:]) throws {
        try self.init(config: config, quantizedWeights: quantizedWeights) { name, shape in
            guard let tensor = weights[name] else {
                throw InvalidInput(place: "Decoder", problem: "the checkpoint has no tensor \(name)")
            }
            guard tensor.shape == shape else {
                throw TensorError.shapeMismatch(
                    op: "Decoder", detail: "\(name) is \(describe(tensor.shape)), the configuration needs \(describe(shape))")
            }
            return tensor
        }
    }

    private init(
        config: DecoderConfig, quantizedWeights: [String: QuantizedBlocks] = [:],
        parameter make: (_ name: String, _ shape: [Int]) throws -> Tensor
    ) throws {
        try config.validate()
        self.config = config
        self.quantizedWeights = quantizedWeights
        let d = config.hiddenSize
        let kvDim = config.kvHeads * config.headDim
        let ffn = config.intermediateSize
        func parameter(_ name: String, _ shape: [Int]) throws -> Variable {
            Variable(try make(name, shape), requiresGrad: true, name: name)
        }
        func bias(_ name: String, _ n: Int) throws -> Variable? { config.attentionBias ? try parameter(name, [n]) : nil }
        embedding = try parameter("model.embed_tokens.weight", [config.vocabSize, d])
        layers = try (0..<config.layers).map { i in
            let p = "model.layers.\(i)."
            return Layer(
                attentionNorm: try parameter(p + "input_layernorm.weight", [d]),
                wq: try parameter(p + "self_attn.q_proj.weight", [d, d]),
                wk: try parameter(p + "self_attn.k_proj.weight", [kvDim, d]),
                wv: try parameter(p + "self_attn.v_proj.weight", [kvDim, d]),
                wo: try parameter(p + "self_attn.o_proj.weight", [d, d]),
                bq: try bias(p + "self_attn.q_proj.bias", d), bk: try bias(p + "self_attn.k_proj.bias", kvDim),
                bv: try bias(p + "self_attn.v_proj.bias", kvDim),
                mlpNorm: try parameter(p + "post_attention_layernorm.weight", [d]),
                wGate: try parameter(p + "mlp.gate_proj.weight", [ffn, d]),
                wUp: try parameter(p + "mlp.up_proj.weight", [ffn, d]),
                wDown: try parameter(p + "mlp.down_proj.weight", [d, ffn]))
        }
        finalNorm = try parameter("model.norm.weight", [d])
        lmHead = config.tieEmbeddings ? nil : try parameter("lm_head.weight", [config.vocabSize, d])
        rotary = try config.rotaryTable()
    }

    /// Final hidden states `[batch·time, hidden]` for a `[batch, time]` block
    /// of token ids (row-major). `positions` default to `0..<time` per row;
    /// `keyValid` marks real (non-padding) tokens; `sharedPrefixes` packs rows
    /// as a prefix and branches that read it (see `Tape.attention`).
    public func hiddenStates(
        tokens: [Int32], batch: Int, positions: [Int32]? = nil, keyValid: [Bool]? = nil,
        sharedPrefixes: [SharedPrefix]? = nil, tape: Tape
    ) throws -> Variable {
        let op = "Decoder.hiddenStates"
        guard batch > 0, tokens.count % batch == 0 else {
            throw TensorError.shapeMismatch(op: op, detail: "\(tokens.count) tokens do not split into \(batch) rows")
        }
        let time = tokens.count / batch
        let positions = positions ?? (0..<batch).flatMap { _ in (0..<Int32(time)).map { $0 } }
        let heads = config.heads
        let kvHeads = config.kvHeads
        let headDim = config.headDim
        var x = try tape.embedding(embedding, ids: tokens)
        for layer in layers {
            let h = try tape.rmsNorm(x, weight: layer.attentionNorm, eps: config.rmsNormEps)
            let q = try tape.rope(
                tape.reshape(project(h, layer.wq, bias: layer.bq, tape: tape), [batch, time, heads, headDim]),
                positions: positions, table: rotary)
            let k = try tape.rope(
                tape.reshape(project(h, layer.wk, bias: layer.bk, tape: tape), [batch, time, kvHeads, headDim]),
                positions: positions, table: rotary)
            let v = try tape.reshape(project(h, layer.wv, bias: layer.bv, tape: tape), [batch, time, kvHeads, headDim])
            let attended = try tape.reshape(
                tape.attention(q: q, k: k, v: v, keyValid: keyValid, sharedPrefixes: sharedPrefixes), [batch * time, heads * headDim])
            x = try tape.add(x, project(attended, layer.wo, tape: tape))

            let h2 = try tape.rmsNorm(x, weight: layer.mlpNorm, eps: config.rmsNormEps)
            let gated = try tape.siluMul(project(h2, layer.wGate, tape: tape), project(h2, layer.wUp, tape: tape))
            x = try tape.add(x, project(gated, layer.wDown, tape: tape))
        }
        return try tape.rmsNorm(x, weight: finalNorm, eps: config.rmsNormEps)
    }

    /// Mean next-token cross-entropy over a `[batch, time]` block: position
    /// `t` predicts token `t+1` of the same row.
    public func languageModelingLoss(tokens: [Int32], batch: Int, tape: Tape) throws -> Variable {
        let time = tokens.count / max(batch, 1)
        let hidden = try hiddenStates(tokens: tokens, batch: batch, tape: tape)
        let predicting = (0..<batch).flatMap { b in (0..<time - 1).map { b * time + $0 } }
        let targets = predicting.map { tokens[$0 + 1] }
        return try tape.crossEntropy(hidden: tape.selectRows(hidden, predicting), weight: outputWeight, targets: targets)
    }
}
