import Engine
import Models
import Support
import Testing

/// The decoder assembled from the engine's ops: gradients end to end,
/// gradient accumulation, and that it actually learns.
@Suite struct DecoderTests {
    static let tiny = DecoderConfig(
        vocabSize: 50, hiddenSize: 16, intermediateSize: 24, layers: 2, heads: 4, kvHeads: 2,
        ropeTheta: 10000, rmsNormEps: 1e-5, maxPositions: 32, tieEmbeddings: false, attentionBias: true)
    static let tokens: [Int32] = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32, 38, 46, 26, 43]

    /// Perturbs a sample of every parameter and compares the loss change with
    /// the tape's gradient.
    @Test func gradientsMatchFiniteDifferencesThroughTheWholeModel() throws {
        let model = try Decoder(config: Self.tiny, seed: 1, std: 0.3)
        let tape = Tape()
        try tape.backward(model.languageModelingLoss(tokens: Self.tokens, batch: 2, tape: tape))
        var rng = RandomGenerator(seed: 5)
        let h: Float = 1e-2
        for p in model.parameters {
            let grad = try #require(p.grad, "\(p.name) has no gradient")
            for _ in 0..<3 {
                let i = Int(rng.next() % UInt64(p.value.count))
                let original = p.value.pointer[i]
                p.value.pointer[i] = original + h
                let plus = try model.languageModelingLoss(tokens: Self.tokens, batch: 2, tape: .inference).value.item
                p.value.pointer[i] = original - h
                let minus = try model.languageModelingLoss(tokens: Self.tokens, batch: 2, tape: .inference).value.item
                p.value.pointer[i] = original
                let numeric = (plus - minus) / (2 * h)
                #expect(
                    abs(grad.pointer[i] - numeric) <= 1e-2 * max(0.1, abs(numeric)), "\(p.name)[\(i)]: \(grad.pointer[i]) vs \(numeric)")
            }
        }
    }

    /// Two micro-batches with half-weighted losses accumulate the same
    /// gradient as the full batch.
    @Test func gradientAccumulationOverMicroBatchesEqualsTheFullBatch() throws {
        let full = try Decoder(config: Self.tiny, seed: 2)
        let micro = try Decoder(config: Self.tiny, seed: 2)
        let tape = Tape()
        try tape.backward(full.languageModelingLoss(tokens: Self.tokens, batch: 2, tape: tape))
        for half in [Array(Self.tokens[0..<8]), Array(Self.tokens[8..<16])] {
            let t = Tape()
            try t.backward(t.scale(micro.languageModelingLoss(tokens: half, batch: 1, tape: t), 0.5))
        }
        for (a, b) in zip(full.parameters, micro.parameters) {
            let ga = try #require(a.grad)
            let gb = try #require(b.grad)
            for i in 0..<ga.count { #expect(abs(ga.pointer[i] - gb.pointer[i]) <= 1e-5 + 1e-4 * abs(ga.pointer[i]), "\(a.name)") }
        }
    }

    /// A few dozen AdamW steps on one batch drive the loss far down: the
    /// forward, backward and optimiser agree with each other.
    @Test func learnsToMemoriseABatch() throws {
        var config = Self.tiny
        config.hiddenSize = 32
        config.intermediateSize = 64
        let model = try Decoder(config: config, seed: 3)
        let optimizer = try AdamW(parameters: model.parameters, .init(learningRate: 1e-2, weightDecay: 0))
        var losses: [Float] = []
        for _ in 0..<60 {
            let tape = Tape()
            let loss = try model.languageModelingLoss(tokens: Self.tokens, batch: 2, tape: tape)
            try tape.backward(loss)
            clipGradNorm(model.parameters, maxNorm: 1)
            optimizer.update()
            losses.append(loss.value.item)
        }
        #expect(losses[0] > 3.5)  // ≈ ln(50) at initialisation
        #expect(losses.last! < 0.3, "loss went \(losses[0]) → \(losses.last!)")
    }

    @Test func invalidConfigurationsAreRejected() {
        var config = Self.tiny
        config.kvHeads = 3
        #expect(throws: InvalidInput.self) { try Decoder(config: config, seed: 0) }
        config = Self.tiny
        config.hiddenSize = 18
        #expect(throws: InvalidInput.self) { try Decoder(config: config, seed: 0) }
    }
}
