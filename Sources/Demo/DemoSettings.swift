import Foundation
import Support
import Training

/// What the demo builds before any RL: the world, its tokenizer, and the two
/// tiny models (simulator and warm-started policy). Cached by these values
/// and the seed, so a second run reuses them.
public struct DemoModelSettings: Codable, Equatable, Sendable {
    /// People, places and things in the world.
    public var entities = 1200
    /// Large enough that every name is one token: copying a name is then
    /// copying one token, which a 2-layer model learns early.
    public var vocabularySize = 4096
    /// The base's shape: a 2-layer Llama, width 128, MLP width 384, 8 query
    /// and 8 key/value heads.
    public var hiddenSize = 128
    public var intermediateSize = 384
    public var layers = 2
    public var heads = 8
    public var kvHeads = 8
    /// The usual base: its slow rotary frequencies let a head match a
    /// question's words to a passage's wherever the passage sits, which
    /// reading needs. At 100 every frequency turns within a page and the base
    /// reads at p 0.37 after 2000 steps, against 0.69 (docs/demo.md).
    public var ropeTheta = 10000.0
    /// The longest sequence the models are built for.
    public var maxPositions = 1024
    /// The base both models start from: a language model trained on pages of
    /// parallel worlds (the same names, other facts: encyclopedia passages,
    /// and questions answered by searching and reading), so it knows the
    /// names, the language and how to read, but none of this world's facts.
    /// Its batches group pages of about the same length four steps at a time:
    /// a third faster, and it reads as well (sixteen steps at a time reads
    /// worse: a batch then holds pages of one kind).
    public var pretrainPages = 8000
    /// A base to start from instead of pretraining one: a model folder (an
    /// earlier build's `base-…` in the cache, say) or a `.gguf`. Its tokenizer
    /// and shape come with it; the settings above that shape or pretrain a
    /// base are then unused. Empty: pretrain one.
    public var base = ""
    /// Worlds of the same names and other facts whose pages the base reads.
    public var parallelWorlds = 16
    /// The base's pretraining.
    public var pretrain = SupervisedConfig(steps: 3000, batchSize: 8, lr: 3e-3, warmupSteps: 100, cosineFloor: 0.1, lengthGrouping: 4)
    /// The simulator's fine-tuning in the published `sft` format.
    public var simulatorExamples = 6000
    /// The demo world's passages, this many times over, among the simulator's
    /// examples: it plays the search engine, so it may know the corpus (only
    /// the policy must not).
    public var simulatorPassageCopies = 0
    public var simulator = SupervisedConfig(steps: 1000, batchSize: 8, lr: 3e-3, warmupSteps: 50, cosineFloor: 0.1, lengthGrouping: 4)
    /// The policy's warm start on demonstrations of the tag format.
    public var policyExamples = 8000
    public var policy = SupervisedConfig(steps: 200, batchSize: 8, lr: 1e-3, lengthGrouping: 4)
    /// The share of agent demonstrations that search (the rest answer at a
    /// guess). At 0.5 the warm-started agent rarely searches and 20 RL steps
    /// do not teach it to (docs/demo.md), so the default always searches.
    public var searchRate = 1.0
    /// Of those that search, the share whose documents are useful.
    public var usefulRate = 0.8

    public init() {}

    enum CodingKeys: String, CodingKey {
        case entities, layers, heads, base, pretrain, simulator, policy
        case vocabularySize = "vocabulary_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case kvHeads = "kv_heads", ropeTheta = "rope_theta", maxPositions = "max_positions", pretrainPages = "pretrain_pages"
        case parallelWorlds = "parallel_worlds", simulatorExamples = "simulator_examples"
        case simulatorPassageCopies = "simulator_passage_copies", policyExamples = "policy_examples", searchRate = "search_rate"
        case usefulRate = "useful_rate"
    }

    /// Names the first setting the demo cannot build its models with.
    func validate() throws {
        func positive(_ value: Int, _ name: String) throws { try requireValid(value > 0, "models.\(name)", "must be positive") }
        func share(_ value: Double, _ name: String) throws {
            try requireValid((0...1).contains(value), "models.\(name)", "must lie in [0, 1]")
        }
        for (value, key) in [
            (entities, CodingKeys.entities), (parallelWorlds, .parallelWorlds), (pretrainPages, .pretrainPages),
            (simulatorExamples, .simulatorExamples), (policyExamples, .policyExamples),
        ] {
            try positive(value, key.stringValue)
        }
        try requireValid(simulatorPassageCopies >= 0, "models.simulator_passage_copies", "must be ≥ 0")
        for (sft, key) in [(pretrain, CodingKeys.pretrain), (simulator, .simulator), (policy, .policy)] {
            try positive(sft.steps, "\(key.stringValue).steps")
            try positive(sft.batchSize, "\(key.stringValue).batch_size")
            try positive(sft.lengthGrouping, "\(key.stringValue).length_grouping")
            try requireValid(sft.lr > 0 && sft.lr.isFinite, "models.\(key.stringValue).lr", "must be positive")
        }
        try share(searchRate, "search_rate")
        try share(usefulRate, "useful_rate")
    }
}

/// How the trained agents are scored, and which runs there are.
public struct DemoEvaluationSettings: Codable, Equatable, Sendable {
    /// Test questions each method is scored on.
    public var questions = 400
    /// Passages per search of the real (BM25) engine, in evaluation, in the
    /// Search-R1-style run and in the base's pretraining pages. One: a query
    /// naming an entity brings its own passage first, and a 2-layer reader
    /// learns to read one passage about twice as fast as three (docs/demo.md).
    public var bm25TopK = 1
    /// Also train with a fixed noise probability of 0.5 and without loss
    /// masking (two more runs).
    public var ablations = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case questions, ablations
        case bm25TopK = "bm25_top_k"
    }
}

/// Everything the demo runs with, in the config dialect of training
/// (snake_case keys, `--set section.key=value`): the models it builds, the
/// RL config every run shares (`training:`, a training config like any
/// other), and its evaluation.
public struct DemoSettings: Codable, Equatable, Sendable {
    public var models = DemoModelSettings()
    /// The shared config of the RL runs. The demo fills in per run what is
    /// its own: `policy.model`, `engine.spec`, `engine.seed`, `trainer.seed`,
    /// `trainer.output_dir`, and for the ablations `curriculum` and
    /// `algorithm.state_masking`.
    public var training = DemoSettings.rlDefaults
    public var evaluation = DemoEvaluationSettings()

    public init() {}

    /// The agent's prompt in the demo. A 2-layer model cannot follow the
    /// published instructions; it learns the format from its pretraining
    /// pages, which use this prompt.
    public static let agentTemplate = "Question: {question}\n"

    /// The demo's RL settings where they differ from the published ones.
    static var rlDefaults: TrainConfig {
        var config = TrainConfig()
        // The fine-tuned simulator writes its five short documents in the
        // published `sft` format; 256 tokens hold them.
        config.engine.simulatorMode = .sft
        config.engine.temperature = 0.7
        config.engine.maxTokens = 256
        config.rollout.promptsPerStep = 16
        config.rollout.groupSize = 4
        config.rollout.maxTurns = 2
        config.rollout.maxTurnTokens = 24
        config.rollout.maxObservationTokens = 256
        config.rollout.maxContextTokens = 768
        config.rollout.topP = 1
        config.rollout.template = agentTemplate
        // Firmer than the published 0.001: a 2-layer policy's short turns
        // otherwise drift (see docs/training.md).
        config.algorithm.klLossCoef = 0.05
        config.algorithm.entropyCoef = 0
        // At 5e-4 training on the simulator's documents costs the policy a
        // fifth of its single-hop reading of BM25's passages (docs/demo.md).
        config.actor.lr = 2e-4
        config.actor.warmupRatio = 0
        config.actor.microBatchSize = 16
        config.trainer.totalSteps = 20
        config.trainer.saveEvery = 0
        return config
    }

    /// The README's main command.
    public static let full = DemoSettings()

    /// `--quick`: a newcomer's first run, in a minute or two, that shows RL
    /// teaching the agent to search. A 200-entity world and a narrower base;
    /// a base that reads takes minutes to pretrain, so one is shipped for
    /// seeds 0, 1 and 2 (`Demo.quickBase(seed:)`, built with these settings by
    /// scripts/make-demo-quick-bases.sh); another seed pretrains its own
    /// (4,000 steps, a few minutes more). The warm start searches in a third
    /// of its demonstrations, so RL must teach the agent to search and to
    /// read: the greedy untrained agent of seeds 1 and 2 never searches, seed
    /// 0's does but reads poorly (docs/demo.md).
    public static func quick(seed: UInt64) -> DemoSettings {
        var settings = DemoSettings()
        settings.models.entities = 200
        settings.models.vocabularySize = 1024
        settings.models.hiddenSize = 64
        settings.models.intermediateSize = 192
        settings.models.heads = 4
        settings.models.kvHeads = 4
        settings.models.pretrainPages = 4000
        settings.models.pretrain.steps = 4000
        settings.models.base = Demo.quickBase(seed: seed)?.path ?? ""
        settings.models.simulatorExamples = 500
        settings.models.simulator.steps = 200
        settings.models.policyExamples = 1000
        settings.models.policy.steps = 40
        settings.models.searchRate = 0.3
        // Chosen on seeds 0, 1 and 2 together (docs/demo.md, "choosing the
        // quick settings"): with 12 steps of 8 × 4 at 1e-3 the agent trained
        // against the simulator cleared the untrained agent and Direct by 10
        // points in one seed of three; with groups of 8, 24 steps at 5e-4 in
        // all three, for 18 s more (seed 0, models cached: 8.3 → 25.9 s).
        settings.training.trainer.totalSteps = 24
        settings.training.rollout.promptsPerStep = 8
        settings.training.rollout.groupSize = 8
        settings.training.actor.lr = 5e-4
        // GRPO, not the full demo's REINFORCE: with REINFORCE the seed-2
        // agent trained against the simulator stopped searching (7.8 subEM,
        // 0.13 searches); with GRPO it reaches 24.2 (docs/demo.md).
        settings.training.algorithm.advantage = .grpo
        settings.evaluation.questions = 128
        settings.evaluation.ablations = false
        return settings
    }

    /// The settings with `section.key=value` overrides applied, keys named as
    /// in `results.json` (`training.trainer.total_steps=10`, `models.policy.lr=0.001`).
    public func applying(_ overrides: [String]) throws -> DemoSettings {
        let settings = try overriding(self, with: overrides, source: "demo settings")
        try settings.validate()
        return settings
    }

    /// Names the first setting the demo cannot run with.
    public func validate() throws {
        try models.validate()
        try training.validate()
        try requireValid(evaluation.questions > 0, "evaluation.questions", "must be positive")
        try requireValid(evaluation.bm25TopK > 0, "evaluation.bm25_top_k", "must be positive")
    }
}
