import Agent
import Engine
import Evaluation
import Foundation
import Generation
import Models
import Search
import Support
import Training

/// A training run built from its config alone: the policy, the engine, the
/// training questions and the held-out evaluation, ready to step. The
/// command line, the demo and the tests all start runs through it.
public final class TrainingJob {
    public let config: TrainConfig
    /// Where the policy came from (its tokenizer files go with an exported model).
    public let policyLocation: URL
    public let engine: any SearchEngine
    public let rows: [RolloutRow]
    public let trainer: RLTrainer

    /// Loads or reuses (`preloaded`) everything `config` names. A preloaded
    /// policy is copied, since training changes it.
    public init(
        _ config: TrainConfig, preloaded: Preloaded = Preloaded(),
        log: @escaping @Sendable (String) -> Void = standardErrorLine
    ) async throws {
        try config.validate()
        try requireValid(!config.data.train.isEmpty, "data.train", "names no question file")
        let rows =
            try preloaded.questions[config.data.train]
            ?? readQuestions(
                config.data.train, questionField: config.data.questionField, answersField: config.data.answersField,
                limit: config.data.limit
            ).map(\.rolloutRow)
        let source: LoadedModel
        let policy: Decoder
        if let loaded = preloaded.models[config.policy.model] {
            source = loaded
            // The file's blocks come along: the rollouts decode the frozen base from them.
            policy = try Decoder(
                config: loaded.decoder.config, weights: loaded.decoder.namedWeights(), quantizedWeights: loaded.decoder.quantizedWeights)
        } else {
            source = try LoadedModel(try await resolveModel(config.policy.model, log: log), prepareInference: false)
            policy = source.decoder
        }
        let engine = try await makeEngine(config.engine, preloaded: preloaded, log: log)
        var evaluation: PolicyEvaluation?
        if !config.evaluation.data.isEmpty {
            let evaluationConfig = config.evaluation.engineConfig(base: config.engine)
            let evaluationEngine =
                config.evaluation.engine.isEmpty
                ? engine : try await makeEngine(evaluationConfig, preloaded: preloaded, log: log)
            let held = try readQuestions(
                config.evaluation.data, questionField: config.data.questionField,
                answersField: config.data.answersField, limit: config.evaluation.limit
            ).map(\.rolloutRow)
            let rollout = config.rolloutConfig
            evaluation = { agent in try await evaluationMetrics(held, policy: agent, engine: evaluationEngine, rollout: rollout) }
        }
        self.config = config
        policyLocation = source.location
        self.engine = engine
        self.rows = rows
        trainer = try RLTrainer(
            config: config, policy: policy, tokenizer: source.tokenizer,
            chatTemplate: source.chatTemplate, stopTokens: source.stopTokens,
            engine: engine, rows: rows, evaluation: evaluation)
    }

    public var outputFolder: URL { URL(fileURLWithPath: config.trainer.outputDir) }

    /// Trains to `total_steps` (from `checkpoint` when given), with the exact
    /// config in the output folder's `config.yaml`; a LoRA run leaves its
    /// adapters in `adapter/`, a full fine-tune its model in `model/` (bf16,
    /// Hugging Face layout). Returns that folder.
    @discardableResult
    public func run(
        resumingFrom checkpoint: URL? = nil, exportModel: Bool = true,
        onStep: (StepReport, [String]) -> Void = { _, _ in }
    ) async throws -> URL? {
        if let checkpoint { try trainer.restore(from: checkpoint) }
        try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        try writeAtomically(Data(try config.yaml().utf8), to: outputFolder.appendingPathComponent("config.yaml"))
        try await trainer.run(onStep: onStep)
        if config.policy.lora != nil { return outputFolder.appendingPathComponent("adapter") }
        guard exportModel else { return nil }
        let folder = outputFolder.appendingPathComponent("model")
        try exportHuggingFace(trainer.policy, tokenizerFrom: policyLocation, to: folder, storage: .bf16)
        return folder
    }
}
