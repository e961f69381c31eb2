import Foundation
import Models
import Runs
import Search
import Support
import Training

/// Times GRPO steps on a real model, phase by phase. The single-turn work is
/// what `scripts/reference/grpo_trl.py` gives TRL's `GRPOTrainer`: the same
/// prompts, group size, completion limit, LoRA, learning rate and KL
/// coefficient, so the two step times compare like for like.
public enum RLStepBench {
    /// One step's work, shared with the TRL reference.
    public struct Work: Sendable {
        public var prompts = 8
        public var group = 4
        public var maxNewTokens = 128
        public var loraRank = 8
        public var loraAlpha = 16.0
        public var lr = 1e-5
        public var klCoef = 0.001
        /// Timed steps, after `warmup` untimed ones.
        public var steps = 3
        public var warmup = 1

        public init() {}
    }

    /// The single-turn prompt: an answer in tags, no search (both sides
    /// render it through the model's chat template as one user turn).
    public static let singleTurnTemplate =
        "Answer the given question. Put only the answer between <answer> and </answer>, for example <answer> Beijing </answer>. Question: {question}\n"

    public struct Measured: Sendable {
        /// Seconds of each timed step.
        public var seconds: [Double]
        /// Each phase's median over the timed steps (`seconds_<phase>` of the trainer's metrics).
        public var phases: [String: Double]
        /// Tokens the policy generated in each timed step.
        public var generatedTokens: [Double]
        public var medianSeconds: Double { median(seconds) }
        public var generatedTokensPerSecond: Double { generatedTokens.reduce(0, +) / seconds.reduce(0, +) }
    }

    /// The engine of a run that never searches (`max_turns: 0`): no second
    /// model is loaded for it, and a call would fail.
    public struct NoSearch: SearchEngine {
        public let name = "none"
        public init() {}
        public func search(_ requests: [SearchRequest]) async -> [SearchResult] {
            requests.map { _ in .failed("single-turn: no search engine") }
        }
    }

    /// The single-turn config: `work` on `model` over the first questions of
    /// `questions`; give `measure` a `NoSearch` for its engine spec.
    public static func singleTurnConfig(model: String, questions: String, work: Work) -> TrainConfig {
        var config = TrainConfig()
        config.policy.model = model
        config.policy.lora = LoRAConfig(rank: work.loraRank, alpha: work.loraAlpha, targets: LoRAConfig.projections)
        config.data.train = questions
        config.data.limit = work.prompts * (work.steps + work.warmup)
        // Never asked: no turn may search.
        config.engine.spec = "sim:none"
        config.rollout.promptsPerStep = work.prompts
        config.rollout.groupSize = work.group
        config.rollout.maxTurns = 0
        config.rollout.maxTurnTokens = work.maxNewTokens
        // TRL's sampling defaults.
        config.rollout.temperature = 1
        config.rollout.topP = 1
        config.rollout.template = singleTurnTemplate
        config.algorithm.advantage = .grpo
        config.algorithm.klLoss = true
        config.algorithm.klLossCoef = work.klCoef
        config.actor.lr = work.lr
        config.actor.warmupRatio = 0
        config.actor.microBatchSize = work.prompts
        config.trainer.totalSteps = work.steps + work.warmup
        return config
    }

    /// Runs `warmup` then `steps` steps of `config` and times them.
    public static func measure(
        _ config: TrainConfig, steps: Int, warmup: Int, preloaded: Preloaded = Preloaded(), progress: (Int) -> Void = { _ in }
    ) async throws -> Measured {
        let job = try await TrainingJob(config, preloaded: preloaded, log: { _ in })
        var measured = Measured(seconds: [], phases: [:], generatedTokens: [])
        var phaseSeconds: [String: [Double]] = [:]
        for step in 0..<(warmup + steps) {
            let report = try await job.trainer.step()
            progress(step + 1)
            guard step >= warmup else { continue }
            let metrics = report.metrics
            measured.seconds.append(metrics["seconds"] ?? 0)
            measured.generatedTokens.append(
                Double(report.trajectories.reduce(0) { $0 + $1.lossMask[$1.promptLength...].reduce(0) { $0 + Int($1) } }))
            for (key, value) in metrics where key.hasPrefix("seconds_") {
                phaseSeconds[String(key.dropFirst("seconds_".count)), default: []].append(value)
            }
        }
        measured.phases = phaseSeconds.mapValues(median)
        return measured
    }
}

/// The middle value (the upper one of an even count), 0 for none.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}
