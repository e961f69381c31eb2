import Engine
import Foundation
import Support

/// The hyperparameters of a Llama-family decoder (Llama 3, SmolLM2, Qwen2),
/// named after Hugging Face's `config.json` fields.
public struct DecoderConfig: Codable, Equatable, Sendable {
    /// The two families differ only in details the fields below capture
    /// (Qwen2: q/k/v biases; llama.cpp's GGUF files store Llama's q/k rows
    /// permuted), but the name decides the `config.json` written for them.
    public enum Architecture: String, Codable, Sendable { case llama, qwen2 }

    /// How rotary frequencies are stretched for long contexts.
    public enum RopeScaling: Codable, Equatable, Sendable {
        /// Llama 3.1/3.2's piecewise scaling (`rope_type: "llama3"`).
        case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositions: Int)
        /// Per-frequency divisors as GGUF's `rope_freqs.weight` stores them.
        case frequencyDivisors([Float])
    }

    public var architecture: Architecture = .llama
    public var ropeScaling: RopeScaling?
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var ropeTheta: Double
    public var rmsNormEps: Float
    public var maxPositions: Int
    public var tieEmbeddings: Bool
    /// Qwen2 puts biases on the q, k and v projections.
    public var attentionBias: Bool

    public init(
        vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, kvHeads: Int,
        ropeTheta: Double = 10000, rmsNormEps: Float = 1e-5, maxPositions: Int = 2048,
        tieEmbeddings: Bool = true, attentionBias: Bool = false, architecture: Architecture = .llama,
        ropeScaling: RopeScaling? = nil
    ) {
        self.architecture = architecture
        self.ropeScaling = ropeScaling
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.ropeTheta = ropeTheta
        self.rmsNormEps = rmsNormEps
        self.maxPositions = maxPositions
        self.tieEmbeddings = tieEmbeddings
        self.attentionBias = attentionBias
    }

    public var headDim: Int { hiddenSize / heads }

    /// The rotary table this configuration implies, scaling included.
    public func rotaryTable() throws -> RotaryTable {
        let headDim = headDim
        switch ropeScaling {
        case nil:
            return try RotaryTable(headDim: headDim, maxPosition: maxPositions, theta: ropeTheta)
        case .frequencyDivisors(let divisors):
            guard divisors.count == headDim / 2 else {
                throw InvalidInput(
                    place: "DecoderConfig", problem: "rope_freqs has \(divisors.count) entries for head dimension \(headDim)")
            }
            return try RotaryTable(headDim: headDim, maxPosition: maxPositions, theta: ropeTheta) { index, frequency in
                frequency / Double(divisors[index])
            }
        case let .llama3(factor, low, high, original):
            let lowWavelength = Double(original) / low
            let highWavelength = Double(original) / high
            return try RotaryTable(headDim: headDim, maxPosition: maxPositions, theta: ropeTheta) { _, frequency in
                let wavelength = 2 * Double.pi / frequency
                if wavelength < highWavelength { return frequency }
                if wavelength > lowWavelength { return frequency / factor }
                let smooth = (Double(original) / wavelength - low) / (high - low)
                return (1 - smooth) * frequency / factor + smooth * frequency
            }
        }
    }

    /// SmolLM2-135M's shape (the engine's reference training benchmark).
    public static let smolLM2_135M = DecoderConfig(
        vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, layers: 30, heads: 9, kvHeads: 3,
        ropeTheta: 100_000, rmsNormEps: 1e-5, maxPositions: 8192, tieEmbeddings: true)

    /// The largest shapes accepted: several times today's largest open
    /// models, small enough that nothing derived from them overflows. A file
    /// may hold any number; these stop a corrupted one before it allocates.
    var bounded: [(name: String, value: Int, limit: Int)] {
        [
            ("vocab_size", vocabSize, 1 << 22), ("hidden_size", hiddenSize, 1 << 16),
            ("intermediate_size", intermediateSize, 1 << 18), ("num_hidden_layers", layers, 1024),
            ("num_attention_heads", heads, 1024), ("num_key_value_heads", kvHeads, 1024),
            ("max_position_embeddings", maxPositions, 1 << 20),
        ]
    }

    /// Weights the shape implies (embeddings, attention, MLP, norms).
    public var parameterCount: Int {
        let kvWidth = kvHeads * headDim
        let attention = hiddenSize * (2 * hiddenSize + 2 * kvWidth)
        let perLayer = attention + 3 * hiddenSize * intermediateSize + 2 * hiddenSize
        return vocabSize * hiddenSize * (tieEmbeddings ? 1 : 2) + layers * perLayer + hiddenSize
    }

    /// Checks every field against its bounds and the others before anything
    /// derived from them (the head size, the rotary table, the weights) is
    /// computed or allocated.
    public func validate() throws {
        let op = "DecoderConfig"
        for (name, value, limit) in bounded where !(1...limit).contains(value) {
            throw InvalidInput(place: "\(op).\(name)", problem: "must be in 1...\(limit), got \(value)")
        }
        if hiddenSize % heads != 0 || headDim % 2 != 0 {
            throw InvalidInput(place: op, problem: "hidden_size \(hiddenSize) must split into \(heads) heads of even size")
        }
        if heads % kvHeads != 0 {
            throw InvalidInput(place: op, problem: "\(heads) attention heads are not a multiple of \(kvHeads) KV heads")
        }
        try requireValid(
            ropeTheta.isFinite && ropeTheta > 1, "\(op).rope_theta", "must be a finite number above 1, got \(ropeTheta)")
        try requireValid(
            rmsNormEps.isFinite && rmsNormEps > 0 && rmsNormEps < 1, "\(op).rms_norm_eps", "must be in (0, 1), got \(rmsNormEps)")
        switch ropeScaling {
        case nil: break
        case let .llama3(factor, low, high, original):
            for (name, value) in [("factor", factor), ("low_freq_factor", low), ("high_freq_factor", high)] {
                try requireValid(value.isFinite && value > 0, "\(op).rope_scaling.\(name)", "must be a positive number, got \(value)")
            }
            try requireValid(high > low, "\(op).rope_scaling", "high_freq_factor \(high) must exceed low_freq_factor \(low)")
            try requireValid(
                (1...maxPositions).contains(original), "\(op).rope_scaling.original_max_position_embeddings",
                "must be in 1...\(maxPositions), got \(original)")
        case .frequencyDivisors(let divisors):
            try requireValid(
                divisors.allSatisfy { $0.isFinite && $0 > 0 }, "\(op).rope_freqs", "every divisor must be a positive number")
        }
        // Even at four bits a weight, more than the machine holds cannot load.
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        let leastBytes = Double(parameterCount) / 2
        try requireValid(
            leastBytes <= memory, op,
            String(
                format: "%.3g parameters need at least %.3g GB even at 4 bits a weight; this machine has %.3g GB",
                Double(parameterCount), leastBytes / 1e9, memory / 1e9))
    }
}
