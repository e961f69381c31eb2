import Agent
import Engine
import Foundation
import Models

/// A sequence a model should learn to write: only its generated tokens are
/// trained on, never the prompt or the observations between turns (the
/// simulator's SFT, a policy's warm start on demonstrated trajectories).
public struct SupervisedExample: Sendable, Equatable {
    public var sequence: Trajectory
    /// One weight per trained token, in order: a token's share of the loss.
    /// Heavier tokens are the few a model must get right that plain
    /// cross-entropy drowns among many easy ones (the gold answer a
    /// simulator copies into a useful document).
    public var weights: [Float]
    /// Tokens the model should not write anywhere in this completion: at each
    /// trained position whose target is another token, each adds
    /// `−log(1 − p(token))` to the loss (unlikelihood training, Welleck et al.
    /// 2019). Plain cross-entropy only pulls up the target; this pushes down
    /// what a noisy simulator call must not copy from its prompt.
    public var avoided: [Int32] = []

    public init(sequence: Trajectory) {
        self.sequence = sequence
        weights = Array(repeating: 1, count: sequence.lossMask.reduce(0) { $0 + Int($1) })
    }

    /// A prompt and the one completion to learn after it, each completion
    /// token weighted by `weights` (default: all 1).
    public init(prompt: [Int32], completion: [Int32], weights: [Float]? = nil, avoiding avoided: [Int32] = []) {
        var sequence = Trajectory(prompt: prompt)
        sequence.appendGenerated(completion, logProbs: Array(repeating: 0, count: completion.count), turn: 0)
        self.sequence = sequence
        self.weights = weights ?? Array(repeating: 1, count: completion.count)
        self.avoided = avoided
    }

    var trainedTokens: Int { weights.count }
}

public struct SupervisedConfig: Sendable, Equatable, Codable {
    /// Optimiser steps.
    public var steps = 200
    /// Examples per optimiser step, drawn at random with a seeded generator.
    public var batchSize = 16
    /// AdamW's peak rate.
    public var lr = 1e-3
    /// Steps of linear warm-up to `lr`.
    public var warmupSteps = 0
    /// After the warm-up the rate follows a cosine from `lr` down to this
    /// share of it at the last step; 1 keeps it constant.
    public var cosineFloor = 1.0
    /// AdamW's decoupled weight decay.
    public var weightDecay = 0.0
    /// Global gradient-norm clip (0: off).
    public var gradClip = 1.0
    /// Steps whose examples are drawn together and then batched by length, so
    /// that a batch of examples of mixed lengths pads little: a padded
    /// position costs as much as a trained one. 1 batches each step's draw.
    public var lengthGrouping = 1
    /// Seeds the example draws.
    public var seed: UInt64 = 0
    /// Weight of each avoided token's unlikelihood term, against a
    /// weight-1 target token (0: avoided tokens are ignored).
    public var unlikelihoodWeight = 1.0
    /// Examples per forward and backward pass, their gradients summed into
    /// the step's (0: the whole batch in one pass). The same step in less
    /// memory: activations are kept for one micro-batch at a time.
    public var microBatchSize = 0

    public init(
        steps: Int = 200, batchSize: Int = 16, lr: Double = 1e-3, warmupSteps: Int = 0, cosineFloor: Double = 1,
        lengthGrouping: Int = 1, seed: UInt64 = 0, unlikelihoodWeight: Double = 1, microBatchSize: Int = 0
    ) {
        self.steps = steps
        self.batchSize = batchSize
        self.lr = lr
        self.warmupSteps = warmupSteps
        self.cosineFloor = cosineFloor
        self.lengthGrouping = lengthGrouping
        self.seed = seed
        self.unlikelihoodWeight = unlikelihoodWeight
        self.microBatchSize = microBatchSize
    }

    enum CodingKeys: String, CodingKey {
        case steps, lr, seed
        case batchSize = "batch_size", warmupSteps = "warmup_steps", cosineFloor = "cosine_floor", weightDecay = "weight_decay"
        case gradClip = "grad_clip", lengthGrouping = "length_grouping", unlikelihoodWeight = "unlikelihood_weight"
        case microBatchSize = "micro_batch_size"
    }
}

/// Trains `model` (its trainable parameters: all, or its LoRA adapters) to
/// write each example's generated tokens: next-token cross-entropy over
/// them, averaged with the examples' token weights, plus the unlikelihood of
/// their avoided tokens; AdamW, a linear warm-up, then a constant or cosine rate. `progress`
/// sees each step's loss; an error it throws stops the run. Returns the losses.
@discardableResult
public func supervisedFineTune(
    _ model: Decoder, on examples: [SupervisedExample], config: SupervisedConfig,
    progress: (_ step: Int, _ loss: Double) throws -> Void = { _, _ in }
) throws -> [Double] {
    try require(!examples.isEmpty, "supervisedFineTune", "no examples")
    try require(
        examples.allSatisfy { $0.sequence.promptLength > 0 && $0.trainedTokens > 0 }, "supervisedFineTune",
        "every example needs a prompt and tokens to learn")
    try require(
        examples.allSatisfy { example in
            example.weights.count == example.sequence.lossMask.reduce(0) { $0 + Int($1) }
                && example.weights.allSatisfy { $0.isFinite && $0 >= 0 } && example.weights.contains { $0 > 0 }
        }, "supervisedFineTune", "every example needs one finite, non-negative weight per trained token, not all 0")
    try require(
        config.steps > 0 && config.batchSize > 0 && config.lr > 0 && config.lengthGrouping > 0 && config.microBatchSize >= 0,
        "supervisedFineTune", "steps, batch size, learning rate and length grouping must be positive, the micro-batch size not negative")
    try require(
        config.unlikelihoodWeight.isFinite && config.unlikelihoodWeight >= 0, "supervisedFineTune",
        "the unlikelihood weight must be finite and non-negative")
    let vocab = model.config.vocabSize
    try require(
        examples.allSatisfy { $0.avoided.allSatisfy { $0 >= 0 && Int($0) < vocab } }, "supervisedFineTune",
        "avoided tokens must be in the vocabulary")
    let optimizer = try AdamW(
        parameters: model.trainableParameters,
        .init(learningRate: Float(config.lr), weightDecay: Float(config.weightDecay)))
    let schedule = LearningRateSchedule.cosine(warmup: config.warmupSteps, total: config.steps, minRatio: Float(config.cosineFloor))
    var rng = RandomGenerator(seed: config.seed)
    var losses: [Double] = []
    var pending: [[SupervisedExample]] = []
    for step in 0..<config.steps {
        if pending.isEmpty {
            pending = lengthGroupedBatches(
                of: examples, steps: min(config.lengthGrouping, config.steps - step),
                batchSize: config.batchSize, rng: &rng)
        }
        let drawn = pending.removeLast()
        // Every micro-batch's loss is divided by the whole batch's weight, so
        // their gradients add up to the batch's.
        let totalWeight = drawn.reduce(Float(0)) { $0 + $1.weights.reduce(0, +) }
        let size = config.microBatchSize > 0 ? config.microBatchSize : drawn.count
        var loss = 0.0
        for start in stride(from: 0, to: drawn.count, by: size) {
            let micro = Array(drawn[start..<min(start + size, drawn.count)])
            let batch = ResponseBatch(micro.map(\.sequence))
            let weights = micro.flatMap(\.weights)
            let tape = Tape()
            let states = try batch.states(model, tape: tape)
            let scored = try tape.tokenLogProbs(
                hidden: tape.selectRows(states, batch.rows), weight: model.outputWeight, targets: batch.targets)
            var objective = try tape.sum(tape.mul(scored.logProbs, Variable(try Tensor(shape: [weights.count], values: weights))))
            let avoided = batch.avoidedPairs(micro.map(\.avoided))
            if config.unlikelihoodWeight > 0 && !avoided.rows.isEmpty {
                let unwanted = try tape.tokenLogProbs(
                    hidden: tape.selectRows(states, avoided.rows), weight: model.outputWeight, targets: avoided.tokens)
                // log(1 − p), kept finite where the model is all but sure of the token.
                let notWritten = try tape.log(
                    tape.clamp(tape.addScalar(tape.scale(tape.exp(unwanted.logProbs), -1), 1), min: 1e-6, max: 1))
                objective = try tape.add(objective, tape.scale(tape.sum(notWritten), Float(config.unlikelihoodWeight)))
            }
            let microLoss = try tape.scale(objective, -1 / totalWeight)
            try tape.backward(microLoss)
            loss += Double(microLoss.value.item)
        }
        clipGradNorm(model.trainableParameters, maxNorm: Float(config.gradClip == 0 ? .infinity : config.gradClip))
        optimizer.update(learningRate: schedule.learningRate(base: Float(config.lr), step: step + 1))
        losses.append(loss)
        try progress(step, loss)
    }
    return losses
}

/// The next `steps` batches of a supervised run: `steps × batchSize` examples
/// drawn at random, then regrouped so that each batch holds examples of about
/// the same length, in random order.
public func lengthGroupedBatches(
    of examples: [SupervisedExample], steps: Int, batchSize: Int,
    rng: inout RandomGenerator
) -> [[SupervisedExample]] {
    let drawn = (0..<steps * batchSize).map { _ in examples[rng.below(examples.count)] }
    guard steps > 1 else { return [drawn] }
    let sorted = drawn.enumerated().sorted {
        ($0.element.sequence.tokens.count, $0.offset) < ($1.element.sequence.tokens.count, $1.offset)
    }.map(\.element)
    var batches = stride(from: 0, to: sorted.count, by: batchSize).map { Array(sorted[$0..<$0 + batchSize]) }
    rng.shuffle(&batches)
    return batches
}
