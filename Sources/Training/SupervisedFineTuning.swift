import Agent
import Engine
import Foundation
import Models

/// A prompt and the completion a model should learn to write after it; only
/// the completion's tokens are trained on (the simulator's SFT, a policy's
/// warm start).
public struct SupervisedExample: Sendable, Equatable {
    public var prompt: [Int32]
    public var completion: [Int32]

    public init(prompt: [Int32], completion: [Int32]) {
        self.prompt = prompt
        self.completion = completion
    }
}

public struct SupervisedConfig: Sendable, Equatable, Codable {
    public var steps = 200
    /// Examples per optimiser step, drawn at random with a seeded generator.
    public var batchSize = 16
    public var lr = 1e-3
    public var warmupSteps = 0
    public var weightDecay = 0.0
    public var gradClip = 1.0
    public var seed: UInt64 = 0

    public init(steps: Int = 200, batchSize: Int = 16, lr: Double = 1e-3, seed: UInt64 = 0) {
        self.steps = steps
        self.batchSize = batchSize
        self.lr = lr
        self.seed = seed
    }
}

/// Trains `model` (its trainable parameters: all, or its LoRA adapters) to
/// write each example's completion after its prompt: mean next-token
/// cross-entropy over completion tokens, AdamW, a linear warm-up. `progress`
/// sees each step's loss. Returns the losses.
@discardableResult
public func supervisedFineTune(_ model: Decoder, on examples: [SupervisedExample], config: SupervisedConfig,
                               progress: (_ step: Int, _ loss: Double) -> Void = { _, _ in }) throws -> [Double] {
    try require(!examples.isEmpty, "supervisedFineTune", "no examples")
    try require(examples.allSatisfy { !$0.prompt.isEmpty && !$0.completion.isEmpty }, "supervisedFineTune",
                "every example needs a prompt and a completion")
    try require(config.steps > 0 && config.batchSize > 0 && config.lr > 0, "supervisedFineTune",
                "steps, batch size and learning rate must be positive")
    let optimizer = try AdamW(parameters: model.trainableParameters,
                              .init(learningRate: Float(config.lr), weightDecay: Float(config.weightDecay)))
    let schedule = LearningRateSchedule.constant(warmup: config.warmupSteps)
    var rng = RandomGenerator(seed: config.seed)
    var losses: [Double] = []
    for step in 0..<config.steps {
        let batch = ResponseBatch((0..<config.batchSize).map { _ in
            let example = examples[rng.below(examples.count)]
            var sequence = Trajectory(prompt: example.prompt)
            sequence.appendGenerated(example.completion, logProbs: Array(repeating: 0, count: example.completion.count), turn: 0)
            return sequence
        })
        let tape = Tape()
        let scored = try batch.logProbs(model, temperature: 1, tape: tape)
        let loss = try tape.scale(tape.sum(scored.logProbs), -1 / Float(batch.positions.count))
        try tape.backward(loss)
        clipGradNorm(model.trainableParameters, maxNorm: Float(config.gradClip == 0 ? .infinity : config.gradClip))
        optimizer.update(learningRate: schedule.learningRate(base: Float(config.lr), step: step + 1))
        losses.append(Double(loss.value.item))
        progress(step, losses[step])
    }
    return losses
}
