import Agent
import Engine
import Foundation
import Generation
import Models
import RL
import Search
import Support
import Tokenizers

/// Where a run is: what a checkpoint must hold, besides weights and
/// optimiser moments, for a resumed run to continue bit for bit.
public struct TrainerState: Codable, Equatable, Sendable {
    /// Steps completed.
    public var step = 0
    /// This pass's order of the training rows, and the next position in it.
    public var order: [Int] = []
    public var cursor = 0
    public var epoch = 0
    public var dataRNG: RandomGenerator
    public var noiseRNG: RandomGenerator

    init(seed: UInt64) {
        dataRNG = RandomGenerator(seed: seed)
        noiseRNG = RandomGenerator(seed: seed &+ 0x5EED)
    }
}

/// What one step did: its metrics (one JSONL line) and the trajectories.
public struct StepReport: Sendable {
    public var metrics: [String: Double]
    public var trajectories: [Trajectory]
}

/// The RL loop. One `step()` is: take the next prompts → roll each out
/// `group_size` times against the engine at this step's noise level → score
/// the answers → reference and old log-probs (and values, for PPO) →
/// advantages → clipped policy updates over mini-batches, with micro-batches
/// accumulating gradients → metrics. Every phase is timed.
public final class RLTrainer {
    /// The last step's packed policy, whose frozen parts the next step reuses.
    private var lastInference: InferenceModel?
    public let config: TrainConfig
    public let policy: Decoder
    let reference: Decoder?
    let critic: ValueModel?
    let tokenizer: BPETokenizer
    let chatTemplate: ChatTemplate
    let stopTokens: Set<Int32>
    let engine: any SearchEngine
    let rows: [RolloutRow]
    /// Scores a greedy agent of the current policy on held-out questions
    /// every `evaluation.every` steps.
    let evaluation: PolicyEvaluation?
    let curriculum: NoiseCurriculum
    let actorOptimizer: AdamW
    let criticOptimizer: AdamW?
    public internal(set) var state: TrainerState

    public init(
        config: TrainConfig, policy: Decoder, tokenizer: BPETokenizer, chatTemplate: ChatTemplate,
        stopTokens: Set<Int32>, engine: any SearchEngine, rows: [RolloutRow],
        evaluation: PolicyEvaluation? = nil
    ) throws {
        try config.validate()
        try requireValid(!rows.isEmpty, "data.train", "no training rows")
        self.config = config
        self.policy = policy
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.stopTokens = stopTokens
        self.engine = engine
        self.rows = rows
        self.evaluation = evaluation
        curriculum = try NoiseCurriculum(
            start: config.curriculum.start, end: config.curriculum.end,
            base: config.curriculum.base, totalSteps: config.trainer.totalSteps)
        if let lora = config.policy.lora { try policy.attachLoRA(lora, seed: config.trainer.seed) }
        // With LoRA the reference is the policy with its adapters off: no copy.
        reference =
            config.algorithm.usesReference && config.policy.lora == nil
            ? try Decoder(config: policy.config, weights: policy.namedWeights()) : nil
        reference?.parameters.forEach { $0.requiresGrad = false }
        actorOptimizer = try AdamW(parameters: policy.trainableParameters, Self.hyperparameters(config.actor))
        if config.algorithm.usesCritic {
            let critic = try ValueModel(policy: policy, sharingTrunk: config.algorithm.criticSharesTrunk)
            self.critic = critic
            criticOptimizer = try AdamW(parameters: critic.parameters, Self.hyperparameters(config.critic))
        } else {
            critic = nil
            criticOptimizer = nil
        }
        state = TrainerState(seed: config.trainer.seed)
    }

    static func hyperparameters(_ optimizer: TrainConfig.Optimizer) -> AdamW.Hyperparameters {
        AdamW.Hyperparameters(learningRate: Float(optimizer.lr), weightDecay: Float(optimizer.weightDecay))
    }

    /// The learning rate at a step: linear warm-up over `warmup_ratio` of the
    /// run, then constant. Step 0 already learns (at 1/warm-up of the rate).
    func learningRate(_ optimizer: TrainConfig.Optimizer) -> Float {
        let warmup = Int((optimizer.warmupRatio * Double(config.trainer.totalSteps)).rounded())
        return LearningRateSchedule.constant(warmup: warmup).learningRate(base: Float(optimizer.lr), step: state.step + 1)
    }

    /// The next `count` rows, reshuffling at each pass over the data.
    func nextRows(_ count: Int) -> [RolloutRow] {
        (0..<count).map { _ in
            if state.cursor >= state.order.count {
                state.order = Array(rows.indices)
                state.order.shuffle(using: &state.dataRNG)
                state.cursor = 0
                state.epoch += 1
            }
            defer { state.cursor += 1 }
            return rows[state.order[state.cursor]]
        }
    }

    public func step() async throws -> StepReport {
        let stepStart = DispatchTime.now().uptimeNanoseconds
        let group = config.rollout.groupSize
        let prompts = nextRows(config.rollout.promptsPerStep)
        let batchRows = prompts.flatMap { Array(repeating: $0, count: group) }
        let groups = prompts.indices.flatMap { Array(repeating: $0, count: group) }

        // Rollout with the current weights.
        let noise = curriculum.probability(step: state.step)
        let agent = try await makeAgent(
            sampling: SamplingParameters(
                temperature: config.rollout.temperature, topK: config.rollout.topK,
                topP: config.rollout.topP),
            seed: config.trainer.seed &+ UInt64(state.step) &* 0x9E37_79B9_7F4A_7C15)
        let packed = DispatchTime.now().uptimeNanoseconds
        var trajectories = try await rollout(
            batchRows, policy: agent, engine: engine, noiseProbability: noise,
            rng: &state.noiseRNG, config: config.rolloutConfig)
        let generated = trajectories.reduce(0) { $0 + $1.lossMask[$1.promptLength...].reduce(0) { $0 + Int($1) } }
        if !config.algorithm.stateMasking {
            for index in trajectories.indices { trajectories[index].trainOnObservations() }
        }
        let rolledOut = DispatchTime.now().uptimeNanoseconds

        var (metrics, scores, rewards) = try await computeOffPool {
            try learn(from: trajectories, rows: batchRows, groups: groups)
        }

        // Metrics.
        let stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
        let rolloutSeconds = Double(rolledOut - packed) / 1e9
        let searches = trajectories.map { Double($0.searches.count) }
        let calls = trajectories.flatMap(\.searches)
        let equalGroups = Dictionary(grouping: rewards.indices, by: { groups[$0] }).values
            .filter { indices in indices.allSatisfy { rewards[$0] == rewards[indices[0]] } }.count
        metrics["step"] = Double(state.step + 1)
        metrics["reward_mean"] = mean(rewards)
        metrics["reward_std"] = standardDeviation(rewards)
        metrics["f1"] = mean(scores.map(\.f1))
        metrics["em"] = mean(scores.map(\.em))
        metrics["subem"] = mean(scores.map(\.subem))
        metrics["searches_per_trajectory"] = mean(searches)
        metrics["noisy_share"] = calls.isEmpty ? 0 : Double(calls.filter { $0.kind == .noisy }.count) / Double(calls.count)
        // The curriculum lowers the reward as it adds noise; the reward where
        // every search was useful is what the policy's reading earns.
        let usefulOnly = rewards.indices.filter { index in
            !trajectories[index].searches.isEmpty && trajectories[index].searches.allSatisfy { $0.kind == .useful }
        }
        if !usefulOnly.isEmpty { metrics["reward_useful_searches"] = mean(usefulOnly.map { rewards[$0] }) }
        metrics["failed_searches"] = Double(calls.filter(\.failed).count)
        metrics["noise_probability"] = noise
        metrics["response_length"] = mean(trajectories.map { Double($0.responseLength) })
        metrics["answered_share"] = mean(trajectories.map { $0.answer == nil ? 0 : 1 })
        metrics["zero_gradient_group_share"] = Double(equalGroups) / Double(prompts.count)
        metrics["generated_tokens_per_second"] = Double(generated) / max(rolloutSeconds, 1e-9)
        metrics["tokens_per_second"] = Double(trajectories.reduce(0) { $0 + $1.tokens.count }) / stepSeconds
        metrics["seconds"] = stepSeconds
        metrics["seconds_pack_weights"] = Double(packed - stepStart) / 1e9
        metrics["seconds_rollout"] = rolloutSeconds
        metrics["lr"] = Double(learningRate(config.actor))
        state.step += 1
        return StepReport(metrics: metrics, trajectories: trajectories)
    }

    /// Everything after the rollout, on the compute thread: rewards,
    /// old/reference log-probs and values, advantages and the updates.
    /// Returns the metrics (with `seconds_<phase>`) and each trajectory's scores and reward.
    func learn(from trajectories: [Trajectory], rows: [RolloutRow], groups: [Int]) throws
        -> (metrics: [String: Double], scores: [AnswerScores], rewards: [Double])
    {
        var phases: [String: Double] = [:]
        func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
            let start = DispatchTime.now().uptimeNanoseconds
            defer { phases[phase, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
            return try body()
        }
        let scores = zip(trajectories, rows).map { scoreAnswer($0.answer, gold: $1.goldAnswers) }
        let rewards = scores.map { config.algorithm.reward.reward($0) }
        let masks: TokenMatrix = trajectories.map { $0.lossMask[$0.promptLength...].map(Double.init) }
        let micro = microBatches(Array(trajectories.indices), size: config.actor.microBatchSize, trajectories)

        // Old and reference log-probs, values: forward passes without a tape.
        let temperature = config.rollout.temperature
        // On-policy the old policy is the one being updated: its log-probs are
        // the update's own, detached (TRL's way with one iteration), and no
        // pass computes them first (nil). A KL penalty in the reward needs
        // them before the update.
        let oldLogProbs: TokenMatrix? = try timed("old_log_probs") {
            guard
                config.algorithm.recomputeOldLogProbs || !updateIsOnPolicy(batch: trajectories.count)
                    || config.algorithm.klInReward
            else { return nil }
            return try scoreAll(micro, trajectories) { batch in
                batch.matrix(try batch.logProbs(policy, temperature: temperature, tape: .inference).logProbs.value)
            }
        }
        let referenceLogProbs: TokenMatrix? = try timed("reference_log_probs") {
            guard config.algorithm.usesReference else { return nil }
            return try withReference { reference in
                try scoreAll(micro, trajectories) { batch in
                    batch.matrix(try batch.logProbs(reference, temperature: temperature, tape: .inference).logProbs.value)
                }
            }
        }
        let oldValues: TokenMatrix? = try timed("values") {
            guard let critic else { return nil }
            return try scoreAll(micro, trajectories) { batch in batch.matrix(try critic.values(batch, tape: .inference).value) }
        }

        let (advantages, returns) = try timed("advantages") {
            var kl: TokenMatrix?
            if config.algorithm.klInReward, let oldLogProbs, let referenceLogProbs {
                kl = zip(oldLogProbs, referenceLogProbs).map { old, reference in
                    zip(old, reference).map { config.algorithm.klPenalty.value(logProb: $0, referenceLogProb: $1).value }
                }
            }
            return try config.algorithm.advantages(rewards: rewards, groups: groups, masks: masks, kl: kl, values: oldValues)
        }
        var metrics = try timed("actor_update") {
            try updateActor(
                trajectories, masks: masks, oldLogProbs: oldLogProbs, referenceLogProbs: referenceLogProbs,
                advantages: advantages)
        }
        if let critic, let criticOptimizer, let oldValues, let returns {
            let criticMetrics = try timed("critic_update") {
                try updateCritic(critic, optimizer: criticOptimizer, trajectories, masks: masks, oldValues: oldValues, returns: returns)
            }
            metrics.merge(criticMetrics) { $1 }
        }
        for (phase, seconds) in phases { metrics["seconds_\(phase)"] = seconds }
        if let oldLogProbs {
            // veRL's rollout_probs_diff: how far the sampler's log-probs are from
            // the trainer's own, over the tokens trained on (near 0 on-policy).
            var differences: [Double] = []
            for (index, trajectory) in trajectories.enumerated() {
                let sampled = trajectory.logProbs[trajectory.promptLength...]
                for (offset, (sampledValue, recomputed)) in zip(sampled, oldLogProbs[index]).enumerated() where masks[index][offset] > 0 {
                    differences.append(abs(Double(sampledValue) - recomputed))
                }
            }
            metrics["rollout_log_prob_diff_max"] = differences.max() ?? 0
            metrics["rollout_log_prob_diff_mean"] = differences.isEmpty ? 0 : differences.reduce(0, +) / Double(differences.count)
        }
        return (metrics, scores, rewards)
    }

    /// The reference model: a frozen copy, or with LoRA the policy itself
    /// with its adapters switched off.
    func withReference<T>(_ body: (Decoder) throws -> T) rethrows -> T {
        if let reference { return try body(reference) }
        policy.adaptersEnabled = false
        defer { policy.adaptersEnabled = true }
        return try body(policy)
    }

    /// The policy with its current weights packed for generation; with LoRA
    /// only the adapted projections are packed again (`InferenceModel`).
    func makeAgent(sampling: SamplingParameters, seed: UInt64) async throws -> ModelPolicy {
        let previous = lastInference
        let inference = try await computeOffPool { [policy] in try InferenceModel(policy, reusingFrozenFrom: previous) }
        lastInference = inference
        return ModelPolicy(
            inference: inference, tokenizer: tokenizer, chatTemplate: chatTemplate, stopTokens: stopTokens, sampling: sampling,
            seed: seed)
    }

    /// Runs `score` over the micro-batches and joins the rows in order.
    func scoreAll(_ microBatches: [[Int]], _ trajectories: [Trajectory], _ score: (ResponseBatch) throws -> TokenMatrix) rethrows
        -> TokenMatrix
    {
        var scored = TokenMatrix(repeating: [], count: trajectories.count)
        for indices in microBatches {
            for (index, row) in zip(indices, try score(ResponseBatch(indices.map { trajectories[$0] }))) { scored[index] = row }
        }
        return scored
    }

    /// `indices` in micro-batches of `size` trajectories: those sharing a
    /// prompt next to each other, so a micro-batch reads the prompt once
    /// (`ResponseBatch`), and the packed rows in order of length, because a
    /// batch is padded to its longest row and a padded position costs a
    /// forward and backward as a real one does. The loss weights are the
    /// mini-batch's, so the grouping changes no gradient.
    func microBatches(_ indices: [Int], size: Int, _ trajectories: [Trajectory]) -> [[Int]] {
        let shared = sharingPrompts(indices.map { trajectories[$0] }).map { $0.map { indices[$0] } }
        let rowLength = shared.map { packedLength($0, trajectories) }
        let sorted = shared.indices.sorted { (rowLength[$0], $0) < (rowLength[$1], $1) }.flatMap { row in
            shared[row].sorted { (trajectories[$0].tokens.count, $0) < (trajectories[$1].tokens.count, $1) }
        }
        return stride(from: 0, to: sorted.count, by: size).map { Array(sorted[$0..<min($0 + size, sorted.count)]) }
    }

    /// Whether the update is exactly on-policy: one pass over the whole
    /// batch, from the weights that sampled it.
    func updateIsOnPolicy(batch: Int) -> Bool {
        let actor = config.actor
        return actor.ppoEpochs == 1 && (actor.miniBatchSize == 0 || actor.miniBatchSize >= batch)
    }

    /// Mini-batches of trajectory indices for an optimiser.
    func miniBatches(count: Int, _ optimizer: TrainConfig.Optimizer) -> [[Int]] {
        let size = optimizer.miniBatchSize == 0 ? count : optimizer.miniBatchSize
        return stride(from: 0, to: count, by: size).map { Array($0..<min($0 + size, count)) }
    }

    func updateActor(
        _ trajectories: [Trajectory], masks: TokenMatrix, oldLogProbs: TokenMatrix?, referenceLogProbs: TokenMatrix?,
        advantages: TokenMatrix
    ) throws -> [String: Double] {
        let algorithm = config.algorithm
        let actor = config.actor
        var sums: [String: Double] = [:]
        var tokensSeen = 0.0
        var gradNorms: [Double] = []
        for _ in 0..<actor.ppoEpochs {
            for mini in miniBatches(count: trajectories.count, actor) {
                let miniMasks = mini.map { masks[$0] }
                let tokenCount = miniMasks.reduce(0) { $0 + $1.reduce(0, +) }
                let sequenceCount = Double(miniMasks.filter { $0.contains { $0 != 0 } }.count)
                let longest = Double(miniMasks.map(\.count).max() ?? 1)
                for indices in microBatches(mini, size: actor.microBatchSize, trajectories) {
                    let batch = ResponseBatch(indices.map { trajectories[$0] })
                    guard !batch.positions.isEmpty else { continue }
                    let tape = Tape()
                    let scored = try batch.logProbs(policy, temperature: config.rollout.temperature, tape: tape)
                    let logProbs = batch.matrix(scored.logProbs.value)
                    let microMasks = indices.map { masks[$0] }
                    let weights = algorithm.lossAggMode.weights(
                        masks: microMasks, tokenCount: tokenCount,
                        sequenceCount: sequenceCount, normalizer: longest)
                    let loss = algorithm.actorLoss(
                        logProbs: logProbs, oldLogProbs: oldLogProbs.map { old in indices.map { old[$0] } } ?? logProbs,
                        referenceLogProbs: referenceLogProbs.map { references in indices.map { references[$0] } },
                        advantages: indices.map { advantages[$0] }, masks: microMasks, weights: weights)
                    let gradient = loss.gradient
                    let microTokens = microMasks.reduce(0) { $0 + $1.reduce(0, +) }
                    for (key, value) in loss.metrics {
                        // Losses add up over micro-batches; rates are token means.
                        sums[key, default: 0] += key.hasSuffix("_loss") ? value : value * microTokens
                    }
                    let entropy = batch.matrix(scored.entropy.value)
                    sums["entropy", default: 0] += zip(entropy, microMasks).reduce(0) {
                        $0 + zip($1.0, $1.1).reduce(0) { $0 + $1.0 * $1.1 }
                    }
                    tokensSeen += microTokens
                    // The surrogate Σ g·logπ − c·Σ w·H has exactly the loss's
                    // gradient with respect to the log-probs and entropies.
                    var surrogate = try tape.sum(tape.mul(scored.logProbs, Variable(batch.flat(gradient))))
                    if algorithm.entropyCoef != 0 {
                        let entropyGradient = weights.map { $0.map { -algorithm.entropyCoef * $0 } }
                        surrogate = try tape.add(surrogate, tape.sum(tape.mul(scored.entropy, Variable(batch.flat(entropyGradient)))))
                    }
                    try tape.backward(surrogate)
                }
                gradNorms.append(
                    Double(clipGradNorm(policy.trainableParameters, maxNorm: Float(actor.gradClip == 0 ? .infinity : actor.gradClip))))
                actorOptimizer.update(learningRate: learningRate(actor))
            }
        }
        var metrics: [String: Double] = ["grad_norm": mean(gradNorms)]
        let updates = Double(actor.ppoEpochs)
        metrics["pg_loss"] = (sums["pg_loss"] ?? 0) / updates
        if let kl = sums["kl_loss"] { metrics["kl_loss"] = kl / updates }
        for key in ["pg_clipfrac", "pg_clipfrac_lower", "ppo_kl", "kl", "entropy"] where sums[key] != nil {
            metrics[key] = sums[key]! / max(tokensSeen, 1)
        }
        return metrics
    }

    func updateCritic(
        _ critic: ValueModel, optimizer: AdamW, _ trajectories: [Trajectory], masks: TokenMatrix,
        oldValues: TokenMatrix, returns: TokenMatrix
    ) throws -> [String: Double] {
        let settings = config.critic
        var loss = 0.0
        var clipped = 0.0
        var tokensSeen = 0.0
        for _ in 0..<settings.ppoEpochs {
            for mini in miniBatches(count: trajectories.count, settings) {
                let tokenCount = mini.reduce(0) { $0 + masks[$1].reduce(0, +) }
                for indices in microBatches(mini, size: settings.microBatchSize, trajectories) {
                    let batch = ResponseBatch(indices.map { trajectories[$0] })
                    guard !batch.positions.isEmpty else { continue }
                    let tape = Tape()
                    let values = try critic.values(batch, tape: tape)
                    let microMasks = indices.map { masks[$0] }
                    let weights = LossAggregation.tokenMean.weights(masks: microMasks, tokenCount: tokenCount)
                    let result = valueLoss(
                        values: batch.matrix(values.value), oldValues: indices.map { oldValues[$0] },
                        returns: indices.map { returns[$0] }, masks: microMasks, weights: weights,
                        clip: config.algorithm.valueClip)
                    loss += result.loss
                    let microTokens = microMasks.reduce(0) { $0 + $1.reduce(0, +) }
                    clipped += (result.metrics["vf_clipfrac"] ?? 0) * microTokens
                    tokensSeen += microTokens
                    try tape.backward(tape.sum(tape.mul(values, Variable(batch.flat(result.gradient)))))
                }
                clipGradNorm(critic.parameters, maxNorm: Float(settings.gradClip == 0 ? .infinity : settings.gradClip))
                optimizer.update(learningRate: learningRate(settings))
            }
        }
        return ["vf_loss": loss / Double(settings.ppoEpochs), "vf_clipfrac": clipped / max(tokensSeen, 1)]
    }
}

func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }

func standardDeviation(_ values: [Double]) -> Double {
    let m = mean(values)
    return values.isEmpty ? 0 : (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count)).squareRoot()
}
