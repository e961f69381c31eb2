import Engine
import Models
import Testing
import Training

@Suite struct SupervisedTests {
    /// Completions repeat the prompt's last token, then an end token: the
    /// prompt's first token (always 1) is never a target, so the loss falls to
    /// near zero only on the completion tokens.
    @Test func learnsTheCompletionsAndOnlyThem() throws {
        let config = DecoderConfig(vocabSize: 32, hiddenSize: 32, intermediateSize: 64, layers: 1, heads: 2, kvHeads: 1,
                                   ropeTheta: 100, maxPositions: 64)
        let model = try Decoder(config: config, seed: 4)
        var rng = RandomGenerator(seed: 2)
        let examples = (0..<256).map { _ -> SupervisedExample in
            let token = Int32(4 + rng.next() % 16)
            return SupervisedExample(prompt: [1, token], completion: [token, 2])
        }
        let losses = try supervisedFineTune(model, on: examples, config: SupervisedConfig(steps: 150, batchSize: 16, lr: 3e-3))
        #expect(losses.first! > 2, "starts near log(32): \(losses.first!)")
        #expect(losses.suffix(10).reduce(0, +) / 10 < 0.2, "ends near 0: \(losses.suffix(10))")
    }

    @Test func refusesEmptyInput() throws {
        let model = try Decoder(config: DecoderConfig(vocabSize: 8, hiddenSize: 16, intermediateSize: 16, layers: 1, heads: 1, kvHeads: 1), seed: 0)
        #expect(throws: (any Error).self) { try supervisedFineTune(model, on: [], config: SupervisedConfig()) }
        #expect(throws: (any Error).self) {
            try supervisedFineTune(model, on: [SupervisedExample(prompt: [1], completion: [])], config: SupervisedConfig())
        }
    }
}
