import Agent
import Engine
import Evaluation
import Models
import RL
import Testing
import Training

/// The whole loop learns: on the tiny search task a pretrained policy
/// answers right about one time in eight without searching; after a bounded
/// number of steps each algorithm must have raised the mean reward well
/// above that, which needs gradients through the rollout, the masks, the
/// advantages and the optimiser.
@Suite(.serialized) struct LearningTests {
    static let task = try! TinySearchTask()
    static let pretrained = try! task.pretrainedPolicy().namedWeights()

    static func config(_ advantage: AdvantageEstimator) -> TrainConfig {
        var config = TrainConfig()
        config.rollout.promptsPerStep = 8
        config.rollout.groupSize = 4
        config.rollout.maxTurns = 1
        config.rollout.maxTurnTokens = 8
        config.rollout.maxObservationTokens = 32
        config.rollout.maxContextTokens = 96
        config.rollout.topP = 1
        config.rollout.template = task.template
        config.algorithm.advantage = advantage
        config.algorithm.entropyCoef = 0
        // The tiny task's turns are short; without a firm pull to the
        // reference, REINFORCE drifts into newline runs that fill the budget.
        config.algorithm.klLossCoef = 0.05
        config.actor.lr = 5e-4
        config.actor.warmupRatio = 0
        config.actor.microBatchSize = 32
        config.critic.lr = 1e-3
        config.critic.warmupRatio = 0
        config.critic.microBatchSize = 32
        config.curriculum.start = 0
        config.curriculum.end = 0
        config.trainer.totalSteps = 50
        return config
    }

    func learn(_ advantage: AdvantageEstimator, steps: Int = 50, lora: LoRAConfig? = nil, sharedCritic: Bool = false) async throws
        -> [Double]
    {
        let task = Self.task
        let policy = try Models.Decoder(config: TinySearchTask.config, weights: Self.pretrained.mapValues { $0.copy() })
        var config = Self.config(advantage)
        config.algorithm.criticSharesTrunk = sharedCritic
        if let lora {
            config.policy.lora = lora
            config.actor.lr = 3e-3
        }
        let trainer = try RLTrainer(
            config: config, policy: policy, tokenizer: task.tokenizer,
            chatTemplate: ChatTemplate(format: .raw), stopTokens: [task.tokenizer.eosTokenID!],
            engine: TinySearchEngine(), rows: task.rows)
        let held = Array(try TinySearchTask(rows: 32, seed: 99).rows)
        func evaluate() async throws -> [String: Double] {
            try await evaluationMetrics(
                held, policy: try await trainer.greedyAgent(), engine: TinySearchEngine(),
                rollout: config.rolloutConfig, revealGoldAnswers: true)
        }
        let before = try await evaluate()
        var rewards: [Double] = []
        for _ in 0..<steps { rewards.append(try await trainer.step().metrics["reward_mean"]!) }
        let after = try await evaluate()
        print(
            "\(advantage.rawValue) greedy evaluation: F1 \(before["eval_f1"]!) → \(after["eval_f1"]!), searches \(before["eval_searches_per_trajectory"]!) → \(after["eval_searches_per_trajectory"]!)"
        )
        #expect(after["eval_f1"]! > before["eval_f1"]! + 0.3, "held-out greedy F1")
        print("\(advantage.rawValue):", rewards.map { String(format: "%.2f", $0) }.joined(separator: " "))
        return rewards
    }

    func expectLearned(_ rewards: [Double]) {
        let first = rewards.prefix(4).reduce(0, +) / 4
        let last = rewards.suffix(5).reduce(0, +) / 5
        #expect(first < 0.4, "the pretrained policy should not know the answers: \(first)")
        #expect(last > first + 0.3, "mean reward went from \(first) to \(last)")
    }

    @Test func reinforce() async throws { expectLearned(try await learn(.reinforce)) }
    @Test func grpo() async throws { expectLearned(try await learn(.grpo)) }
    @Test func ppo() async throws { expectLearned(try await learn(.gae)) }
    @Test func ppoWithSharedTrunk() async throws { expectLearned(try await learn(.gae, sharedCritic: true)) }
    @Test func reinforcePlusPlus() async throws { expectLearned(try await learn(.reinforcePlusPlus)) }

    /// Only the adapters train; the reference is the policy with them off.
    @Test func reinforceWithLoRA() async throws {
        expectLearned(try await learn(.reinforce, lora: LoRAConfig(rank: 8, alpha: 16, targets: LoRAConfig.projections)))
    }
}
