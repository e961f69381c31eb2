import Foundation
import Training

/// What the demo builds before any RL: the world, its tokenizer, and the two
/// tiny models (simulator and warm-started policy). Cached by these values
/// and the seed, so a second run reuses them.
public struct DemoModelSettings: Codable, Equatable, Sendable {
    public var entities = 1200
    /// Large enough that every name is one token: copying a name is then
    /// copying one token, which a 2-layer model learns early.
    public var vocabularySize = 4096
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
    public var parallelWorlds = 16
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
}

/// The RL runs and evaluations.
public struct DemoTrainingSettings: Codable, Equatable, Sendable {
    public var steps = 20
    public var promptsPerStep = 16
    public var groupSize = 4
    /// At 5e-4 training on the simulator's documents costs the policy a
    /// fifth of its single-hop reading of BM25's passages (docs/demo.md).
    public var lr = 2e-4
    /// Firmer than the published 0.001: a 2-layer policy's short turns
    /// otherwise drift (see docs/training.md).
    public var klLossCoef = 0.05
    public var maxTurns = 2
    public var maxTurnTokens = 24
    public var maxObservationTokens = 256
    public var maxContextTokens = 768
    /// Passages per search of the real (BM25) engine, in evaluation and in
    /// the base's pretraining pages. One: a query naming an entity brings its
    /// own passage first, and a 2-layer reader learns to read one passage
    /// about twice as fast as three (docs/demo.md).
    public var bm25TopK = 1
    /// Test questions each method is scored on.
    public var evaluationQuestions = 400
    /// Also train with a fixed noise probability of 0.5 and without loss
    /// masking (two more runs).
    public var ablations = true

    public init() {}
}

public struct DemoSettings: Codable, Equatable, Sendable {
    public var models = DemoModelSettings()
    public var training = DemoTrainingSettings()

    public init(models: DemoModelSettings = DemoModelSettings(), training: DemoTrainingSettings = DemoTrainingSettings()) {
        self.models = models
        self.training = training
    }

    /// The README's main command.
    public static let full = DemoSettings()

    /// `--quick`: the same pipeline in a few minutes.
    public static var quick: DemoSettings {
        var settings = DemoSettings()
        settings.models.entities = 600
        settings.models.simulatorExamples = 3000
        settings.models.pretrainPages = 3000
        settings.models.pretrain.steps = 250
        settings.models.simulator.steps = 100
        settings.models.policyExamples = 4000
        settings.models.policy.steps = 100
        settings.training.steps = 10
        settings.training.evaluationQuestions = 200
        settings.training.ablations = false
        return settings
    }

    /// The test suite's: a 200-entity world and 12 RL steps. A base that
    /// reads takes minutes to pretrain (4000 steps here), so the learning
    /// test gives one (`models.base`, built by
    /// scripts/fixtures/make_demo_test_base.sh); the 60 steps below only check
    /// that pretraining runs. The warm start searches in a third of its
    /// demonstrations, so the greedy untrained agent hardly searches and RL
    /// must teach it to: the paper's effect in its starkest form.
    public static var tiny: DemoSettings {
        var settings = DemoSettings.quick
        settings.models.entities = 200
        settings.models.vocabularySize = 1024
        settings.models.hiddenSize = 64
        settings.models.intermediateSize = 192
        settings.models.heads = 4
        settings.models.kvHeads = 4
        settings.models.pretrainPages = 1000
        settings.models.pretrain.steps = 60
        settings.models.simulatorExamples = 500
        settings.models.simulator.steps = 200
        settings.models.policyExamples = 1000
        settings.models.policy.steps = 40
        settings.models.searchRate = 0.3
        settings.training.steps = 12
        settings.training.promptsPerStep = 8
        settings.training.lr = 1e-3
        settings.training.evaluationQuestions = 128
        return settings
    }
}

/// A bad `--set` override names the setting (and the nearest known one).
public typealias DemoSettingError = ConfigError

extension DemoSettings {
    /// The settings with `key.path=value` overrides applied, keys named as in
    /// `results.json` (`training.steps=10`, `models.policy.lr=0.001`).
    public func applying(_ overrides: [String]) throws -> DemoSettings {
        let settings = try overriding(self, with: overrides, source: "demo settings")
        try settings.validate()
        return settings
    }

    /// Names the first setting the demo cannot run with.
    public func validate() throws {
        func field(_ ok: Bool, _ name: String, _ message: String) throws {
            if !ok { throw DemoSettingError("demo settings: \(name) \(message)") }
        }
        func positive(_ value: Int, _ name: String) throws { try field(value > 0, name, "must be positive") }
        func share(_ value: Double, _ name: String) throws { try field((0...1).contains(value), name, "must lie in [0, 1]") }
        try positive(models.entities, "models.entities")
        try positive(models.parallelWorlds, "models.parallelWorlds")
        for (count, name) in [(models.pretrainPages, "models.pretrainPages"), (models.simulatorExamples, "models.simulatorExamples"),
                              (models.policyExamples, "models.policyExamples")] {
            try positive(count, name)
        }
        try field(models.simulatorPassageCopies >= 0, "models.simulatorPassageCopies", "must be ≥ 0")
        for (sft, name) in [(models.pretrain, "models.pretrain"), (models.simulator, "models.simulator"), (models.policy, "models.policy")] {
            try positive(sft.steps, "\(name).steps")
            try positive(sft.batchSize, "\(name).batchSize")
            try positive(sft.lengthGrouping, "\(name).lengthGrouping")
            try field(sft.lr > 0, "\(name).lr", "must be positive")
        }
        try share(models.searchRate, "models.searchRate")
        try share(models.usefulRate, "models.usefulRate")
        try positive(training.steps, "training.steps")
        try positive(training.promptsPerStep, "training.promptsPerStep")
        try positive(training.groupSize, "training.groupSize")
        try field(training.lr > 0, "training.lr", "must be positive")
        try field(training.klLossCoef >= 0, "training.klLossCoef", "must be ≥ 0")
        try positive(training.maxTurns, "training.maxTurns")
        try positive(training.maxTurnTokens, "training.maxTurnTokens")
        try positive(training.maxObservationTokens, "training.maxObservationTokens")
        try positive(training.maxContextTokens, "training.maxContextTokens")
        try positive(training.bm25TopK, "training.bm25TopK")
        try positive(training.evaluationQuestions, "training.evaluationQuestions")
    }
}
