import Agent
import Models
import RL
import Search
import Support

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
    public var algorithm = AlgorithmConfig()
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
        /// The field holding the question.
        public var questionField = "question"
        /// The field holding the gold answers: a list, or one string.
        public var answersField = "answer"
        /// Use only the first N rows (0: all).
        public var limit = 0
        public init() {}
        enum CodingKeys: String, CodingKey {
            case train, limit
            case questionField = "question_field", answersField = "answers_field"
        }
    }

    /// A search engine of any kind and every option it takes. `zerosearch
    /// search`, `ask` and `eval` fill the same fields from their flags.
    public struct Engine: Codable, Equatable, Sendable {
        /// `sim:MODEL` (a model in this process plays the engine), `sim+http://HOST:PORT[,…]` (OpenAI-compatible
        /// servers: sglang, vLLM, llama.cpp), `bm25:INDEX`, `retriever+http://HOST:PORT` (Search-R1) or `google` (SerpAPI).
        public var spec = "sim:smollm2-135m-instruct"
        /// Simulator prompt format: `prompt` (an instruct model) or `sft` (a fine-tuned simulator).
        public var simulatorMode = SimulatorMode.prompt
        /// Documents per search.
        public var topK = 5
        /// Simulator sampling temperature.
        public var temperature: Float = 0.8
        /// Simulator output limit in tokens.
        public var maxTokens = 600
        /// Simulator sampling seed (sent to servers too, so their documents are reproducible).
        public var seed: UInt64 = 0
        /// Simulator: times a rejected reply is asked again (`SimulatorRedraws`:
        /// not `top_k` numbered documents, or noisy documents holding a gold
        /// answer). 0 keeps every reply, as published.
        public var redraws = 0
        /// The `model` field sent to a simulator server (vLLM wants the served name; sglang ignores it).
        public var servedModel = ""
        /// Remote engines: seconds before one attempt is abandoned.
        public var timeout = 60.0
        /// Remote engines: seconds a whole call may take, every attempt and
        /// pause included (a server that never answers costs this).
        public var deadline = 120.0
        /// Remote engines: calls in flight at once.
        public var concurrency = 10
        /// Remote engines: attempts per call, the first included.
        public var attempts = 5
        /// Remote engines: the environment variable holding the API key sent as a
        /// bearer token (simulator, retriever) or SerpAPI key (google). Empty: no
        /// credential is sent, except google's `SERPAPI_API_KEY`.
        public var apiKeyEnv = ""
        public init() {}
        enum CodingKeys: String, CodingKey {
            case spec, temperature, seed, redraws, timeout, deadline, concurrency, attempts
            case simulatorMode = "simulator_mode", topK = "top_k", maxTokens = "max_tokens", servedModel = "served_model"
            case apiKeyEnv = "api_key_env"
        }

        /// Names the first option an engine cannot run with.
        public func validate(section: String = "engine") throws {
            _ = try parsedSpec(section: section)
            try requireValid(topK > 0, "\(section).top_k", "must be positive")
            try requireValid(temperature >= 0 && temperature.isFinite, "\(section).temperature", "must be ≥ 0")
            try requireValid(maxTokens > 0, "\(section).max_tokens", "must be positive")
            try requireValid(redraws >= 0 && redraws <= 16, "\(section).redraws", "must be in 0…16")
            try requireValid(timeout > 0 && timeout.isFinite, "\(section).timeout", "must be positive")
            try requireValid(deadline >= timeout && deadline.isFinite, "\(section).deadline", "must be at least \(section).timeout")
            try requireValid(concurrency > 0, "\(section).concurrency", "must be positive")
            try requireValid(attempts > 0, "\(section).attempts", "must be positive")
        }

        public func parsedSpec(section: String = "engine") throws -> EngineSpec {
            do { return try EngineSpec(parsing: spec) } catch { throw InvalidInput(place: "\(section).spec", problem: "\(error)") }
        }
    }

    public struct Curriculum: Codable, Equatable, Sendable {
        /// Probability of a noisy search call at the first and last step.
        public var start = 0.0
        public var end = 0.5
        /// Shape of the rise from `start` to `end`: `(base^(step/total) − 1)/(base − 1)`.
        public var base = 4.0
        public init() {}
    }

    public struct Rollout: Codable, Equatable, Sendable {
        /// Questions per step.
        public var promptsPerStep = 64
        /// Responses per prompt (the group of GRPO and RLOO).
        public var groupSize = 5
        /// Searches allowed before the final answer.
        public var maxTurns = 2
        /// Policy tokens per generation.
        public var maxTurnTokens = 500
        /// Tokens of one `<information>` block (its closing tag is kept).
        public var maxObservationTokens = 500
        /// The prompt is cut from the left to this many tokens.
        public var maxPromptTokens = 2048
        /// The whole trajectory's token budget.
        public var maxContextTokens = 4096
        /// Policy sampling: temperature, nucleus mass, top-k (0: off).
        public var temperature: Float = 1
        public var topP: Float = 0.95
        public var topK = 0
        /// The instructions; `{question}` marks the question.
        public var template = PolicyPrompt.searchR1
        /// Each trajectory's search leaves as soon as its generation stops
        /// and it rejoins the decoding batch when its documents arrive,
        /// instead of every turn waiting for its slowest row (`RolloutConfig.asynchronous`).
        public var asynchronous = false
        public init() {}
        enum CodingKeys: String, CodingKey {
            case temperature, template, asynchronous
            case promptsPerStep = "prompts_per_step", groupSize = "group_size", maxTurns = "max_turns"
            case maxTurnTokens = "max_turn_tokens", maxObservationTokens = "max_observation_tokens"
            case maxPromptTokens = "max_prompt_tokens", maxContextTokens = "max_context_tokens", topP = "top_p", topK = "top_k"
        }
    }

    public struct Optimizer: Codable, Equatable, Sendable {
        /// AdamW's rate after the warm-up.
        public var lr = 1e-6
        /// Linear warm-up over this share of the total steps (ZeroSearch's
        /// REINFORCE/GRPO scripts: 0.95).
        public var warmupRatio = 0.95
        /// AdamW's decoupled weight decay.
        public var weightDecay = 0.01
        /// Global gradient-norm clip (0: off).
        public var gradClip = 1.0
        /// Update passes over each step's batch.
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
        /// RL steps (ZeroSearch's scripts: 203).
        public var totalSteps = 203
        /// Checkpoint every N steps (0: only at the end).
        public var saveEvery = 50
        /// Seeds the question order, the policy's sampling and the noise draws.
        public var seed: UInt64 = 0
        /// The run folder: metrics, checkpoints, `config.yaml`, the trained model.
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
        /// Evaluate every N steps and after the last step (0: never).
        public var every = 0
        /// Use the first N questions.
        public var limit = 100
        /// The engine to evaluate against (a real one, typically); empty: the training engine.
        /// The engine never sees gold answers during evaluation.
        public var engine = ""
        public init() {}

        /// The evaluation engine: the training engine's options with this spec.
        public func engineConfig(base: TrainConfig.Engine) -> TrainConfig.Engine {
            var config = base
            if !engine.isEmpty { config.spec = engine }
            return config
        }
    }

    enum CodingKeys: String, CodingKey {
        case policy, data, engine, curriculum, rollout, algorithm, actor, critic, trainer, evaluation
    }

    /// Checks every value a run depends on, naming the field.
    public func validate() throws {
        func field(_ ok: Bool, _ name: String, _ problem: String) throws { try requireValid(ok, name, problem) }
        // Every trajectory of a step is held in memory with its KV cache: a
        // step of more than this many cannot run, whatever the machine.
        let maxTrajectories = 1 << 16
        try field(
            (1...maxTrajectories).contains(rollout.promptsPerStep), "rollout.prompts_per_step", "must be in 1...\(maxTrajectories)")
        try field((1...maxTrajectories).contains(rollout.groupSize), "rollout.group_size", "must be in 1...\(maxTrajectories)")
        try field(
            rollout.promptsPerStep * rollout.groupSize <= maxTrajectories, "rollout.prompts_per_step",
            "× rollout.group_size = \(rollout.promptsPerStep * rollout.groupSize) trajectories a step; at most \(maxTrajectories)")
        for (name, value) in [
            ("max_turn_tokens", rollout.maxTurnTokens), ("max_observation_tokens", rollout.maxObservationTokens),
            ("max_prompt_tokens", rollout.maxPromptTokens), ("max_context_tokens", rollout.maxContextTokens),
        ] {
            try field((1...(1 << 20)).contains(value), "rollout.\(name)", "must be in 1...\(1 << 20), got \(value)")
        }
        try field(
            rollout.maxContextTokens > rollout.maxTurnTokens, "rollout.max_context_tokens",
            "\(rollout.maxContextTokens) leaves no room for a turn of rollout.max_turn_tokens \(rollout.maxTurnTokens)")
        try field(rollout.temperature > 0, "rollout.temperature", "must be positive (training needs sampled rollouts)")
        try field(rollout.topP > 0 && rollout.topP <= 1, "rollout.top_p", "must lie in (0, 1]")
        try algorithm.validate(groupSize: rollout.groupSize)
        for (name, optimizer) in [("actor", actor), ("critic", critic)] {
            try field(optimizer.lr > 0 && optimizer.lr <= 1, "\(name).lr", "must be positive (and at most 1)")
            try field(optimizer.warmupRatio >= 0 && optimizer.warmupRatio <= 1, "\(name).warmup_ratio", "must lie in [0, 1]")
            try field(optimizer.weightDecay >= 0 && optimizer.weightDecay.isFinite, "\(name).weight_decay", "must be ≥ 0")
            try field(optimizer.ppoEpochs > 0, "\(name).ppo_epochs", "must be positive")
            try field(optimizer.microBatchSize > 0, "\(name).micro_batch_size", "must be positive")
            try field(optimizer.miniBatchSize >= 0, "\(name).mini_batch_size", "must be ≥ 0")
            try field(optimizer.gradClip >= 0, "\(name).grad_clip", "must be ≥ 0")
        }
        if let lora = policy.lora { try lora.validate() }
        try engine.validate()
        if !evaluation.engine.isEmpty { try evaluation.engineConfig(base: engine).validate(section: "evaluation") }
        try field(trainer.totalSteps > 0, "trainer.total_steps", "must be positive")
        try field(trainer.saveEvery >= 0, "trainer.save_every", "must be ≥ 0")
        try field(evaluation.every >= 0, "evaluation.every", "must be ≥ 0")
        try field(evaluation.limit > 0, "evaluation.limit", "must be positive")
        try field(
            evaluation.every == 0 || !evaluation.data.isEmpty, "evaluation.data", "names no question file but evaluation.every is set")
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
        config.asynchronous = rollout.asynchronous
        config.revealGoldAnswers = (try? engine.parsedSpec().isSimulated) ?? true
        return config
    }
}
