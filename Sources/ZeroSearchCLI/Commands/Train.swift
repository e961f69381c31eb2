import ArgumentParser
import Foundation
import Engine
import Agent
import Datasets
import Generation
import Models
import Search
import Training

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a policy to search with RL (REINFORCE, GRPO, PPO, REINFORCE++) against a simulated or real engine.")

    @Option(help: "The run's YAML config (see configs/ and docs/training.md).") var config: String?
    @Option(name: .customLong("set"), help: "Override one setting, e.g. --set actor.lr=1e-6 (repeatable).") var overrides: [String] = []
    @Option(help: "Continue a run: its output folder or one checkpoint folder.") var resume: String?

    func run() async throws {
        let checkpoint = try resume.map { path in
            guard let folder = RLTrainer.latestCheckpoint(in: URL(fileURLWithPath: path)) else {
                throw ValidationError("no checkpoint in \(path)")
            }
            return folder
        }
        let settings: TrainConfig
        do {
            if let config {
                settings = try TrainConfig.load(contentsOf: URL(fileURLWithPath: config), overrides: overrides)
            } else if let checkpoint {
                // A checkpoint's config.json is JSON, which YAML reads as is.
                settings = try TrainConfig.load(contentsOf: checkpoint.appendingPathComponent("config.json"), overrides: overrides)
            } else {
                throw ValidationError("give --config FILE (or --resume RUN)")
            }
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }

        let policyModel = try LoadedModel(try await resolveModel(settings.policy.model), prepareInference: false)
        let engineSettings = EngineSettings(mode: settings.engine.simulatorMode, topK: settings.engine.topK,
                                            temperature: settings.engine.temperature, maxTokens: settings.engine.maxTokens,
                                            seed: settings.trainer.seed)
        let engine = try await buildEngine(EngineSpec(parsing: settings.engine.spec), settings: engineSettings)
        guard !settings.data.train.isEmpty else { throw ValidationError("data.train names no question file") }
        let rows = try questions(settings.data.train, limit: settings.data.limit, settings: settings)
        var evaluation: (rows: [RolloutRow], engine: any SearchEngine)?
        if !settings.evaluation.data.isEmpty {
            let evaluationEngine = settings.evaluation.engine.isEmpty
                ? engine : try await buildEngine(EngineSpec(parsing: settings.evaluation.engine), settings: engineSettings)
            evaluation = (try questions(settings.evaluation.data, limit: settings.evaluation.limit, settings: settings), evaluationEngine)
        }
        let trainer = try RLTrainer(config: settings, policy: policyModel.decoder, tokenizer: policyModel.tokenizer,
                                    chatTemplate: policyModel.chatTemplate, stopTokens: policyModel.stopTokens,
                                    engine: engine, rows: rows, evaluation: evaluation)
        if let checkpoint {
            try trainer.restore(from: checkpoint)
            FileHandle.standardError.write(Data("resumed from \(checkpoint.path) at step \(trainer.state.step)\n".utf8))
        }
        let output = URL(fileURLWithPath: settings.trainer.outputDir)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try settings.yaml().write(to: output.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        FileHandle.standardError.write(Data("""
            \(settings.algorithm.advantage.rawValue) on \(rows.count) questions, \(settings.rollout.promptsPerStep)×\(settings.rollout.groupSize) \
            rollouts per step, engine \(engine.name); metrics → \(output.path)/metrics.jsonl\n
            """.utf8))
        let progress = ProgressBar(title: "train", total: settings.trainer.totalSteps)
        progress.advance(by: trainer.state.step)
        try await trainer.run { report, warnings in
            progress.advance()
            let m = report.metrics
            let line = String(format: "step %.0f  reward %.3f  searches %.2f  noisy %.2f  kl %.4f  entropy %.3f  %.1fs",
                              m["step"] ?? 0, m["reward_mean"] ?? 0, m["searches_per_trajectory"] ?? 0, m["noisy_share"] ?? 0,
                              m["kl"] ?? 0, m["entropy"] ?? 0, m["seconds"] ?? 0)
            FileHandle.standardError.write(Data("\r\(line)\n".utf8))
            for warning in warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        }
        progress.finish()
        if settings.policy.lora != nil {
            print("adapter: \(output.appendingPathComponent("adapter").path)")
            print("merge it: zerosearch models export --model \(settings.policy.model) --adapter \(output.appendingPathComponent("adapter").path) --out MERGED")
        } else {
            let folder = output.appendingPathComponent("model")
            try exportHuggingFace(trainer.policy, tokenizerFrom: policyModel.location, to: folder, storage: .bf16)
            print("model: \(folder.path)")
        }
    }

    /// Questions from any dataset file (parquet, JSONL, CSV) through the config's column names.
    private func questions(_ path: String, limit: Int, settings: TrainConfig) throws -> [RolloutRow] {
        let url = URL(fileURLWithPath: path)
        let mapping = QAMapping(questionField: settings.data.questionField, answersField: settings.data.answersField,
                                defaultDataSource: url.deletingPathExtension().lastPathComponent)
        var rows: [RolloutRow] = []
        try forEachQARow(in: url, mapping: mapping) { row in
            rows.append(RolloutRow(question: row.question, goldAnswers: row.goldAnswers))
            return limit == 0 || rows.count < limit
        }
        return rows
    }
}
