import Engine
import Foundation
import Support

/// Llama and Qwen2 decoders from llama.cpp's GGUF files: the configuration
/// from the `{arch}.*` metadata, the tensors renamed to Hugging Face's names
/// and dequantised to Float32.
extension DecoderConfig {
    public init(gguf: GGUFFile) throws {
        let op = "GGUF(\(gguf.url.lastPathComponent))"
        let meta = gguf.metadata
        guard let name = meta["general.architecture"]?.string else {
            throw InvalidInput(place: op, problem: "no general.architecture in the metadata")
        }
        guard let architecture = Architecture(rawValue: name) else {
            throw InvalidInput(place: op, problem: "architecture \(name) is not supported (llama, qwen2 are)")
        }
        // A key that is present must hold its type: a string is not a layer
        // count, and a count that does not fit an Int is refused, not defaulted.
        func integer(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let value = meta["\(name).\(key)"] else {
                if let fallback { return fallback }
                throw InvalidInput(place: op, problem: "missing metadata \(name).\(key)")
            }
            guard let found = value.int else {
                throw InvalidInput(place: "\(op): \(name).\(key)", problem: "must be an integer, got \(value)")
            }
            return found
        }
        func number(_ key: String, default fallback: Double) throws -> Double {
            guard let value = meta["\(name).\(key)"] else { return fallback }
            guard case .float(let found) = value else {
                throw InvalidInput(place: "\(op): \(name).\(key)", problem: "must be a float, got \(value)")
            }
            return found
        }
        guard let embedding = gguf.info("token_embd.weight"), embedding.dimensions.count == 2 else {
            throw InvalidInput(place: op, problem: "no 2-D token_embd.weight tensor")
        }
        let heads = try integer("attention.head_count")
        self.init(
            vocabSize: try integer("vocab_size", default: embedding.dimensions[1]),
            hiddenSize: try integer("embedding_length"),
            intermediateSize: try integer("feed_forward_length"),
            layers: try integer("block_count"),
            heads: heads,
            kvHeads: try integer("attention.head_count_kv", default: heads),
            ropeTheta: try number("rope.freq_base", default: 10000),
            rmsNormEps: Float(try number("attention.layer_norm_rms_epsilon", default: 1e-5)),
            maxPositions: try integer("context_length", default: 2048),
            tieEmbeddings: gguf.info("output.weight") == nil,
            attentionBias: gguf.info("blk.0.attn_q.bias") != nil,
            architecture: architecture)
        if gguf.info("rope_freqs.weight") != nil {
            ropeScaling = .frequencyDivisors(try gguf.tensor("rope_freqs.weight").scalars)
        }
        try validate()
    }
}

extension Decoder {
    /// Loads every tensor of a GGUF file into a decoder, keeping the blocks of
    /// the weight matrices that `QuantizedMatrix` reads.
    public convenience init(gguf: GGUFFile) throws {
        let config = try DecoderConfig(gguf: gguf)
        var weights: [String: Tensor] = [:]
        var quantized: [String: QuantizedBlocks] = [:]
        for info in gguf.tensorInfos {
            guard let name = huggingFaceName(ofGGUFTensor: info.name) else { continue }
            var tensor = try gguf.tensor(info.name)
            var blocks =
                QuantizedMatrix.canRead(info.type) && info.shape.count == 2
                ? try QuantizedBlocks(type: info.type, rows: info.shape[0], columns: info.shape[1], bytes: Array(gguf.rawBytes(info)))
                : nil
            // llama.cpp's converter interleaves the two rotary halves of each
            // Llama q/k head (it rotates adjacent pairs); undo it so the rows
            // are in the "rotate_half" order Hugging Face and this engine use.
            if config.architecture == .llama, name.hasSuffix("q_proj.weight") || name.hasSuffix("k_proj.weight") {
                let order = try rotaryRowOrder(
                    rows: tensor.shape[0], heads: name.hasSuffix("q_proj.weight") ? config.heads : config.kvHeads)
                tensor = permutingRows(tensor, order)
                blocks = try blocks?.permutingRows(order)
            }
            weights[name] = tensor
            quantized[name] = blocks
        }
        try self.init(config: config, weights: weights, quantizedWeights: quantized)
    }
}

/// `blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`; nil for
/// tensors a decoder does not hold (`rope_freqs.weight`).
func huggingFaceName(ofGGUFTensor name: String) -> String? {
    switch name {
    case "token_embd.weight": return "model.embed_tokens.weight"
    case "output_norm.weight": return "model.norm.weight"
    case "output.weight": return "lm_head.weight"
    default: break
    }
    let parts = name.split(separator: ".", maxSplits: 2)
    guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
    let renames = [
        "attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
        "attn_q.weight": "self_attn.q_proj.weight", "attn_k.weight": "self_attn.k_proj.weight",
        "attn_v.weight": "self_attn.v_proj.weight", "attn_output.weight": "self_attn.o_proj.weight",
        "attn_q.bias": "self_attn.q_proj.bias", "attn_k.bias": "self_attn.k_proj.bias", "attn_v.bias": "self_attn.v_proj.bias",
        "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight",
    ]
    return renames[String(parts[2])].map { "model.layers.\(layer).\($0)" }
}

/// The GGUF row each Hugging Face row comes from: row `h·d + j·d/2 + i` of
/// the Hugging Face layout is row `h·d + 2i + j` of the GGUF layout (head
/// `h`, head size `d`).
func rotaryRowOrder(rows: Int, heads: Int) throws -> [Int] {
    try require(heads > 0 && rows % (2 * heads) == 0, "rotaryRowOrder", "\(rows) rows do not split into \(heads) heads of pairs")
    let headSize = rows / heads
    let half = headSize / 2
    return (0..<rows).map { row in
        let h = row / headSize
        let j = row % headSize / half
        let i = row % half
        return h * headSize + 2 * i + j
    }
}

/// Row `i` of the result is row `sources[i]` of `w`.
func permutingRows(_ w: Tensor, _ sources: [Int]) -> Tensor {
    let columns = w.count / max(w.shape[0], 1)
    let out = Tensor(uninitialized: w.shape)
    for (row, source) in sources.enumerated() {
        (out.pointer + row * columns).update(from: w.pointer + source * columns, count: columns)
    }
    return out
}
