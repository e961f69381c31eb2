import Engine
import Foundation
import Models
import Testing
import Training

@Suite struct SupervisedTests {
    /// Completions repeat the prompt's last token, then an end token: the
    /// prompt's first token (always 1) is never a target, so the loss falls to
    /// near zero only on the completion tokens.
    @Test func learnsTheCompletionsAndOnlyThem() throws {
        let config = DecoderConfig(
            vocabSize: 32, hiddenSize: 32, intermediateSize: 64, layers: 1, heads: 2, kvHeads: 1,
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

    /// Grouping by length draws the same examples, but puts long ones with
    /// long ones: no batch's lengths overlap another's.
    @Test func lengthGroupingKeepsTheDrawAndSeparatesLengths() {
        let examples = (1...64).map { SupervisedExample(prompt: [1], completion: Array(repeating: 2, count: $0)) }
        var drawing = RandomGenerator(seed: 9)
        var grouping = RandomGenerator(seed: 9)
        let plain = lengthGroupedBatches(of: examples, steps: 1, batchSize: 32, rng: &drawing)
        let grouped = lengthGroupedBatches(of: examples, steps: 8, batchSize: 4, rng: &grouping)
        #expect(plain.count == 1 && grouped.count == 8 && grouped.allSatisfy { $0.count == 4 })
        #expect(grouped.joined().map(\.sequence.tokens.count).sorted() == plain[0].map(\.sequence.tokens.count).sorted())
        let spans = grouped.map { batch in batch.map(\.sequence.tokens.count) }.map { ($0.min()!, $0.max()!) }.sorted { $0 < $1 }
        #expect(zip(spans, spans.dropFirst()).allSatisfy { $0.1 <= $1.0 }, "\(spans)")
        #expect(grouped.map { $0[0].sequence.tokens.count } != spans.map(\.0), "batches come in random order, not by length")
    }

    /// Micro-batches change how much is held at once, not the step: the same
    /// losses and the same weights after it, with examples of unequal weight
    /// and an unlikelihood term.
    @Test func microBatchesGiveTheWholeBatchesStep() throws {
        let config = DecoderConfig(
            vocabSize: 16, hiddenSize: 16, intermediateSize: 32, layers: 1, heads: 2, kvHeads: 1, ropeTheta: 100, maxPositions: 16)
        let examples = [
            SupervisedExample(prompt: [1, 5], completion: [5, 2, 7], weights: [1, 3, 1]),
            SupervisedExample(prompt: [1, 6, 4], completion: [6, 2]),
            SupervisedExample(prompt: [1], completion: [9, 9, 3, 2], avoiding: [8]),
        ]
        for size in [1, 2] { try expectTheSameStep(examples, config, microBatches: [0, size]) }
    }

    /// Three steps of the whole batch from one initialisation in micro-batches
    /// of each size: the same losses and the same weights after them.
    func expectTheSameStep(
        _ examples: [SupervisedExample], _ config: DecoderConfig, microBatches sizes: [Int],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let runs = try sizes.map { size in
            let model = try Decoder(config: config, seed: 3)
            let tuning = SupervisedConfig(steps: 3, batchSize: examples.count, lr: 1e-2, microBatchSize: size)
            let losses = try supervisedFineTune(model, on: examples, config: tuning)
            return (losses: losses, weights: model.trainableParameters.flatMap(\.value.scalars))
        }
        for run in runs.dropFirst() {
            #expect(
                zip(runs[0].losses, run.losses).allSatisfy { abs($0 - $1) < 1e-5 }, "\(runs[0].losses) vs \(run.losses)",
                sourceLocation: sourceLocation)
            #expect(zip(runs[0].weights, run.weights).allSatisfy { abs($0 - $1) < 1e-5 }, sourceLocation: sourceLocation)
        }
    }

    /// Examples with one prompt share a packed row (the prompt read once):
    /// the same losses and weights as when each is a batch of its own, and
    /// the same log-probabilities as scoring each alone.
    @Test func aSharedPromptIsReadOnceWithTheSameResult() throws {
        let config = DecoderConfig(
            vocabSize: 16, hiddenSize: 16, intermediateSize: 32, layers: 2, heads: 2, kvHeads: 1, ropeTheta: 100, maxPositions: 32)
        let examples = [
            SupervisedExample(prompt: [1, 5, 7, 3], completion: [5, 2, 7]),
            SupervisedExample(prompt: [1, 5, 7, 3], completion: [6, 2]),
            SupervisedExample(prompt: [1, 5, 7, 3], completion: [9, 9, 3, 2], avoiding: [8]),
            SupervisedExample(prompt: [1, 4], completion: [4, 11]),
        ]
        try expectTheSameStep(examples, config, microBatches: [0, 1])

        let model = try Decoder(config: config, seed: 5)
        let trajectories = examples.map(\.sequence)
        let together = try responseLogProbs(trajectories, under: model)
        for (index, trajectory) in trajectories.enumerated() {
            let single = try responseLogProbs([trajectory], under: model)[0]
            #expect(zip(together[index], single).allSatisfy { abs($0 - $1) < 1e-5 }, "\(together[index]) vs \(single)")
        }
    }

    /// The loss is a weighted mean: a token of weight 0 teaches nothing (the
    /// last token, read by nothing after it, may be anything), and scaling every weight changes nothing.
    @Test func tokenWeightsShareTheLoss() throws {
        let config = DecoderConfig(
            vocabSize: 16, hiddenSize: 16, intermediateSize: 32, layers: 1, heads: 2, kvHeads: 1, ropeTheta: 100, maxPositions: 16)
        let tuning = SupervisedConfig(steps: 4, batchSize: 2, lr: 1e-2)
        func losses(_ examples: [SupervisedExample]) throws -> [Double] {
            try supervisedFineTune(try Decoder(config: config, seed: 3), on: examples, config: tuning)
        }
        let ignored = try losses([
            SupervisedExample(prompt: [1, 5], completion: [5, 2, 7], weights: [1, 1, 0]),
            SupervisedExample(prompt: [1, 6], completion: [6, 2], weights: [1, 1]),
        ])
        let otherTarget = try losses([
            SupervisedExample(prompt: [1, 5], completion: [5, 2, 9], weights: [1, 1, 0]),
            SupervisedExample(prompt: [1, 6], completion: [6, 2], weights: [1, 1]),
        ])
        #expect(ignored == otherTarget)
        let unit = try losses([SupervisedExample(prompt: [1, 5], completion: [5, 2, 7], weights: [1, 3, 1])])
        let scaled = try losses([SupervisedExample(prompt: [1, 5], completion: [5, 2, 7], weights: [2, 6, 2])])
        #expect(zip(unit, scaled).allSatisfy { abs($0 - $1) < 1e-5 }, "\(unit) vs \(scaled)")
        let plain = try losses([SupervisedExample(prompt: [1, 5], completion: [5, 2, 7])])
        #expect(plain != unit, "weights change what is learnt")
    }

    /// Half the examples write 9 after a prompt, half write 7 there and avoid
    /// 9: cross-entropy alone settles at p(9) = 1/2, the unlikelihood term
    /// at 1/3 (the minimum of −log x − 2·log(1 − x)). A token outside the
    /// vocabulary is refused.
    @Test func avoidedTokensLoseProbability() throws {
        let config = DecoderConfig(
            vocabSize: 16, hiddenSize: 16, intermediateSize: 32, layers: 1, heads: 2, kvHeads: 1, ropeTheta: 100, maxPositions: 16)
        let examples = [
            SupervisedExample(prompt: [1, 5], completion: [9, 2]),
            SupervisedExample(prompt: [1, 5], completion: [7, 2], avoiding: [9]),
        ]
        func probabilityOfNine(unlikelihood: Double) throws -> Double {
            let model = try Decoder(config: config, seed: 3)
            var tuning = SupervisedConfig(steps: 200, batchSize: 64, lr: 5e-3)
            tuning.unlikelihoodWeight = unlikelihood
            try supervisedFineTune(model, on: examples, config: tuning)
            let asked = SupervisedExample(prompt: [1, 5], completion: [9]).sequence
            return Foundation.exp(try responseLogProbs([asked], under: model)[0][0])
        }
        let plain = try probabilityOfNine(unlikelihood: 0)
        let avoided = try probabilityOfNine(unlikelihood: 1)
        #expect(abs(plain - 0.5) < 0.06 && abs(avoided - 1.0 / 3) < 0.06, "p(9): \(avoided) with unlikelihood, \(plain) without")
        let model = try Decoder(config: config, seed: 3)
        #expect(throws: (any Error).self) {
            try supervisedFineTune(
                model, on: [SupervisedExample(prompt: [1], completion: [2], avoiding: [16])], config: SupervisedConfig(steps: 1))
        }
    }

    @Test func refusesEmptyInput() throws {
        let model = try Decoder(
            config: DecoderConfig(vocabSize: 8, hiddenSize: 16, intermediateSize: 16, layers: 1, heads: 1, kvHeads: 1), seed: 0)
        #expect(throws: (any Error).self) { try supervisedFineTune(model, on: [], config: SupervisedConfig()) }
        #expect(throws: (any Error).self) {
            try supervisedFineTune(model, on: [SupervisedExample(prompt: [1], completion: [])], config: SupervisedConfig())
        }
        for weights: [Float] in [[1, 1], [0], [-1], [.nan]] {
            #expect(throws: (any Error).self, "\(weights)") {
                try supervisedFineTune(
                    model, on: [SupervisedExample(prompt: [1], completion: [2], weights: weights)], config: SupervisedConfig())
            }
        }
    }
}
