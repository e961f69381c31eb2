import Agent
import Models
import Engine
import RL
import Search

/// Every knob of a training run. The YAML file mirrors this structure
/// section by section (`docs/training.md` documents each field); fields left
/// out keep these defaults, which are ZeroSearch's published settings where
/// it has one.
public struct TrainConfig: Codable, Equatable, Sendable {
    public var policy = Policy()
    public var data = DataSource()
    public var engine = Engine()
    public var curriculum = Curriculum()
    public var rollout = Rollout()
    public var algorithm = Algorithm()
    public var actor = Optimizer()
    public var critic = Optimizer(lr: 1e-5, warmupRatio: 0.015)
    public var trainer = Trainer()
    public var evaluation = Evaluation()

    public init() {}

    public struct Policy: Codable, Equatable, Sendable {
        /// A GGUF file, Hugging Face folder or installed model name.
        public var model = "smollm2-135m-instruct"
        /// Train LoRA adapters (rank, alpha, targets) instead of every weight; null: full fine-tuning.
        public var lora: LoRAConfig?
        public init() {}
    }

    public struct DataSource: Codable, Equatable, Sendable {
        /// Training questions: parquet, JSONL or CSV with a question and its answers per row.
        public var train = ""
        public var questionField = "question"
        public var answersField = "answer"
        /// Use only the first N rows (0: all).
        public var limit = 0
        public init() {}
        enum CodingKeys: String, CodingKey {
            case train, limit
            case questionField = "question_field", answersField = "answers_field"
        }
    }

    public struct Engine: Codable, Equatable, Sendable {
        /// `sim:MODEL`, `sim+http://HOST:PORT[,…]`, `bm25:INDEX`, `retriever+http://…` or `google`.
        public var spec = "sim:smollm2-135m-instruct"
        public var simulatorMode = SimulatorMode.prompt
        public var topK = 5
        public var temperature: Float = 0.8
        public var maxTokens = 600
        public init() {}
        enum CodingKeys: String, CodingKey {
            case spec, temperature
            case simulatorMode = "simulator_mode", topK = "top_k", maxTokens = "max_tokens"
        }
    }

    public struct Curriculum: Codable, Equatable, Sendable {
        /// Probability of a noisy search call at the first and last step.
        public var start = 0.0
        public var end = 0.5
        public var base = 4.0
        public init() {}
    }

    public struct Rollout: Codable, Equatable, Sendable {
        public var promptsPerStep = 64
        /// Responses per prompt (the group of GRPO and RLOO).
        public var groupSize = 5
        public var maxTurns = 2
        public var maxTurnTokens = 500
        public var maxObservationTokens = 500
        public var maxPromptTokens = 2048
        public var maxContextTokens = 4096
        public var temperature: Float = 1
        public var topP: Float = 0.95
        public var topK = 0
        /// The instructions; `{question}` marks the question.
        public var template = PolicyPrompt.searchR1
        public init() {}
        enum CodingKeys: String, CodingKey {
            case temperature, template
            case promptsPerStep = "prompts_per_step", groupSize = "group_size", maxTurns = "max_turns"
            case maxTurnTokens = "max_turn_tokens", maxObservationTokens = "max_observation_tokens"
            case maxPromptTokens = "max_prompt_tokens", maxContextTokens = "max_context_tokens", topP = "top_p", topK = "top_k"
        }
    }

    public struct Algorithm: Codable, Equatable, Sendable {
        public var advantage = AdvantageEstimator.reinforce
        /// f1 (ZeroSearch's), subem or em.
        public var reward = RewardKind.f1
        public var grpoEpsilon = 1e-6
        public var grpoUnbiasedStd = true
        /// A group of one: `keep_reward` (veRL) or `zero`.
        public var grpoSingleton = SingletonRule.keepReward
        public var gamma = 1.0
        public var lambda = 1.0
        /// REINFORCE++ at observation tokens: `pass_through` or veRL's `reset`.
        public var reinforcePPMasked = MaskedReturn.passThrough
        /// KL to the reference as a loss term (ZeroSearch: on, k3, 0.001).
        public var klLoss = true
        public var klLossCoef = 0.001
        public var klLossType = KLEstimator.k3
        /// KL to the reference inside the token rewards (PPO, REINFORCE++ style).
        public var klInReward = false
        public var klCoef = 0.001
        public var klPenalty = KLEstimator.k1
        public var entropyCoef = 0.001
        public var lossAggMode = LossAggregation.tokenMean
        public var clipRatioLow = 0.2
        public var clipRatioHigh = 0.2
        /// Dual-clip bound; 0 turns dual-clip off.
        public var clipRatioC = 3.0
        /// How far a value may move from the rollout's before its loss stops
        /// pulling (PPO's critic).
        public var valueClip = 0.5
        /// PPO's critic reads the policy's own trunk (only its head trains)
        /// instead of a copy of it (veRL's default, twice the memory).
        public var criticSharesTrunk = false
        /// Recompute the old log-probs with the training model (veRL) rather
        /// than keep the sampler's.
        public var recomputeOldLogProbs = true
        /// Leave the engine's documents out of the loss (Search-R1's
        /// `state_masking`); off, the policy is also trained to write them.
        public var stateMasking = true
        public init() {}
        enum CodingKeys: String, CodingKey {
            case advantage, reward, gamma, lambda
            case reinforcePPMasked = "reinforce_pp_masked"
            case grpoEpsilon = "grpo_epsilon", grpoUnbiasedStd = "grpo_unbiased_std", grpoSingleton = "grpo_singleton"
            case klLoss = "kl_loss"
            case klLossCoef = "kl_loss_coef", klLossType = "kl_loss_type", klInReward = "kl_in_reward", klCoef = "kl_coef"
            case klPenalty = "kl_penalty", entropyCoef = "entropy_coef", lossAggMode = "loss_agg_mode"
            case clipRatioLow = "clip_ratio_low", clipRatioHigh = "clip_ratio_high", clipRatioC = "clip_ratio_c"
            case recomputeOldLogProbs = "recompute_old_log_probs", valueClip = "value_clip"
            case criticSharesTrunk = "critic_shares_trunk", stateMasking = "state_masking"
        }

        var usesReference: Bool { klLoss || klInReward }
    }

    public struct Optimizer: Codable, Equatable, Sendable {
        public var lr = 1e-6
        /// Linear warm-up over this share of the total steps (ZeroSearch's
        /// REINFORCE/GRPO scripts: 0.95).
        public var warmupRatio = 0.95
        public var weightDecay = 0.01
        public var gradClip = 1.0
        public var ppoEpochs = 1
        /// Trajectories per optimiser step (0: the whole batch).
        public var miniBatchSize = 0
        /// Trajectories per forward/backward pass.
        public var microBatchSize = 8
        public init(lr: Double = 1e-6, warmupRatio: Double = 0.95) {
            self.lr = lr
            self.warmupRatio = warmupRatio
        }
        enum CodingKeys: String, CodingKey {
            case lr
            case warmupRatio = "warmup_ratio", weightDecay = "weight_decay", gradClip = "grad_clip", ppoEpochs = "ppo_epochs"
            case miniBatchSize = "mini_batch_size", microBatchSize = "micro_batch_size"
        }
    }

    public struct Trainer: Codable, Equatable, Sendable {
        public var totalSteps = 203
        /// Checkpoint every N steps (0: only at the end).
        public var saveEvery = 50
        public var seed: UInt64 = 0
        public var outputDir = "runs/train"
        public init() {}
        enum CodingKeys: String, CodingKey {
            case seed
            case totalSteps = "total_steps", saveEvery = "save_every", outputDir = "output_dir"
        }
    }

    public struct Evaluation: Codable, Equatable, Sendable {
        /// Held-out questions (JSONL, same fields as `data`); empty: no evaluation.
        public var data = ""
        /// Evaluate every N steps (0: never) and after the last step.
        public var every = 0
        /// Use the first N questions.
        public var limit = 100
        /// The engine to evaluate against (a real one, typically); empty: the training engine.
        /// The engine never sees gold answers during evaluation.
        public var engine = ""
        public init() {}
    }

    enum CodingKeys: String, CodingKey {
        case policy, data, engine, curriculum, rollout, algorithm, actor, critic, trainer, evaluation
    }

    /// Checks every value a run depends on, naming the field.
    public func validate() throws {
        func field(_ ok: Bool, _ name: String, _ message: String) throws {
            try require(ok, "config", "\(name): \(message)")
        }
        try field(rollout.promptsPerStep > 0, "rollout.prompts_per_step", "must be positive")
        try field(rollout.groupSize > 0, "rollout.group_size", "must be positive")
        try field(rollout.temperature > 0, "rollout.temperature", "must be positive (training needs sampled rollouts)")
        try field(rollout.topP > 0 && rollout.topP <= 1, "rollout.top_p", "must lie in (0, 1]")
        try field(algorithm.advantage != .grpo && algorithm.advantage != .rloo || rollout.groupSize > 1, "rollout.group_size",
                  "\(algorithm.advantage.rawValue) compares responses within a group: use 2 or more")
        try field(algorithm.clipRatioLow >= 0 && algorithm.clipRatioLow < 1, "algorithm.clip_ratio_low", "must lie in [0, 1)")
        try field(algorithm.clipRatioHigh >= 0, "algorithm.clip_ratio_high", "must be ≥ 0")
        try field(algorithm.clipRatioC == 0 || algorithm.clipRatioC > 1, "algorithm.clip_ratio_c", "must be 0 (off) or > 1")
        try field(algorithm.gamma >= 0 && algorithm.gamma <= 1, "algorithm.gamma", "must lie in [0, 1]")
        try field(algorithm.valueClip > 0, "algorithm.value_clip", "must be positive")
        try field(algorithm.lambda >= 0 && algorithm.lambda <= 1, "algorithm.lambda", "must lie in [0, 1]")
        for (name, optimizer) in [("actor", actor), ("critic", critic)] {
            try field(optimizer.lr > 0, "\(name).lr", "must be positive")
            try field(optimizer.warmupRatio >= 0 && optimizer.warmupRatio <= 1, "\(name).warmup_ratio", "must lie in [0, 1]")
            try field(optimizer.ppoEpochs > 0, "\(name).ppo_epochs", "must be positive")
            try field(optimizer.microBatchSize > 0, "\(name).micro_batch_size", "must be positive")
            try field(optimizer.miniBatchSize >= 0, "\(name).mini_batch_size", "must be ≥ 0")
            try field(optimizer.gradClip >= 0, "\(name).grad_clip", "must be ≥ 0")
        }
        if let lora = policy.lora { try lora.validate() }
        try field(trainer.totalSteps > 0, "trainer.total_steps", "must be positive")
        try field(trainer.saveEvery >= 0, "trainer.save_every", "must be ≥ 0")
        try field(evaluation.every >= 0, "evaluation.every", "must be ≥ 0")
        try field(evaluation.limit > 0, "evaluation.limit", "must be positive")
        try field(evaluation.every == 0 || !evaluation.data.isEmpty, "evaluation.data", "names no question file but evaluation.every is set")
        _ = try NoiseCurriculum(start: curriculum.start, end: curriculum.end, base: curriculum.base, totalSteps: trainer.totalSteps)
        try rolloutConfig.validate()
    }

    public var rolloutConfig: RolloutConfig {
        var config = RolloutConfig()
        config.maxTurns = rollout.maxTurns
        config.maxTurnTokens = rollout.maxTurnTokens
        config.maxObservationTokens = rollout.maxObservationTokens
        config.maxPromptTokens = rollout.maxPromptTokens
        config.maxContextTokens = rollout.maxContextTokens
        config.prompt = PolicyPrompt(template: rollout.template)
        config.revealGoldAnswers = (try? EngineSpec(parsing: engine.spec).isSimulated) ?? true
        return config
    }
}

/// Which answer score is the reward.
public enum RewardKind: String, Codable, Sendable, CaseIterable {
    case f1, subem, em

    public func reward(_ scores: AnswerScores) -> Double {
        switch self {
        case .f1: scores.f1
        case .subem: scores.subem
        case .em: scores.em
        }
    }
}
