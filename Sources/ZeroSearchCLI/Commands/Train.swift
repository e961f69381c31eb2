import ArgumentParser
import Console
import Foundation
import Runs
import Training

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a policy to search with RL (REINFORCE, GRPO, PPO, REINFORCE++) against a simulated or real engine.")

    @Option(help: "The run's YAML config (see configs/ and docs/training.md); relative paths in it resolve against its folder.")
    var config: String?
    @Option(name: .customLong("set"), help: "Override one setting, e.g. --set actor.lr=1e-6 (repeatable).") var overrides: [String] = []
    @Option(help: "Continue a run: its output folder or one checkpoint folder.") var resume: String?

    func run() async throws {
        let checkpoint = try resume.map { path in
            guard let folder = RLTrainer.latestCheckpoint(in: URL(fileURLWithPath: path)) else {
                throw ValidationError("no checkpoint in \(path)")
            }
            return folder
        }
        // A checkpoint's config.json is JSON, which YAML reads as is.
        guard let file = config.map(URL.init(fileURLWithPath:)) ?? checkpoint?.appendingPathComponent("config.json") else {
            throw ValidationError("give --config FILE (or --resume RUN)")
        }
        let job = try await TrainingJob(TrainConfig.load(contentsOf: file, overrides: overrides))
        let settings = job.config
        if let checkpoint { standardErrorLine("resuming from \(checkpoint.path)") }
        standardErrorLine(
            """
            \(settings.algorithm.advantage.rawValue) on \(job.rows.count) questions, \(settings.rollout.promptsPerStep)×\(settings.rollout.groupSize) \
            rollouts per step, engine \(job.engine.name); metrics → \(job.outputFolder.path)/metrics.jsonl
            """)
        let progress = ProgressBar(title: "train", total: settings.trainer.totalSteps)
        var started = false
        let result = try await job.run(resumingFrom: checkpoint) { report, warnings in
            if !started {
                progress.advance(by: Int(report.metrics["step"] ?? 1) - 1)
                started = true
            }
            progress.advance()
            let m = report.metrics
            standardErrorLine(
                String(
                    format: "\rstep %.0f  reward %.3f  searches %.2f  noisy %.2f  kl %.4f  entropy %.3f  %.1fs",
                    m["step"] ?? 0, m["reward_mean"] ?? 0, m["searches_per_trajectory"] ?? 0, m["noisy_share"] ?? 0,
                    m["kl"] ?? 0, m["entropy"] ?? 0, m["seconds"] ?? 0))
            for warning in warnings { standardErrorLine("warning: \(warning)") }
        }
        progress.finish()
        guard let result else { return }
        if settings.policy.lora != nil {
            print("adapter: \(result.path)")
            print("merge it: zerosearch models export --model \(settings.policy.model) --adapter \(result.path) --out MERGED")
        } else {
            print("model: \(result.path)")
        }
    }
}
