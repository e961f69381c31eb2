import Engine
import Foundation
import Models

/// Times full training steps (forward, backward, AdamW) of a decoder on a
/// random token block: the engine's end-to-end training benchmark.
public struct TrainingThroughput: Sendable {
    public struct Result: Sendable {
        public let stepSeconds: [Double]
        public let losses: [Float]
        public let tokensPerStep: Int
        public var bestTokensPerSecond: Double { Double(tokensPerStep) / (stepSeconds.min() ?? .infinity) }
        public var medianTokensPerSecond: Double { stepSeconds.isEmpty ? 0 : Double(tokensPerStep) / median(stepSeconds) }
    }

    public let config: DecoderConfig
    public let batch: Int
    public let sequence: Int

    public init(config: DecoderConfig, batch: Int, sequence: Int) {
        self.config = config
        self.batch = batch
        self.sequence = sequence
    }

    /// Runs `warmup` untimed steps, then `steps` timed ones. `progress` is
    /// told after each step.
    public func run(steps: Int, warmup: Int = 1, seed: UInt64 = 0, progress: (Int, Double) -> Void = { _, _ in }) throws -> Result {
        let model = try Decoder(config: config, seed: seed)
        let optimizer = try AdamW(parameters: model.parameters, .init(learningRate: 1e-4, weightDecay: 0))
        var rng = RandomGenerator(seed: seed &+ 1)
        let tokens = (0..<batch * sequence).map { _ in Int32(rng.below(config.vocabSize)) }
        var times: [Double] = []
        var losses: [Float] = []
        for step in 0..<(warmup + steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            let tape = Tape()
            let loss = try model.languageModelingLoss(tokens: tokens, batch: batch, tape: tape)
            try tape.backward(loss)
            optimizer.update()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if step >= warmup {
                times.append(seconds)
                losses.append(loss.value.item)
            }
            progress(step, seconds)
        }
        return Result(stepSeconds: times, losses: losses, tokensPerStep: batch * sequence)
    }
}
