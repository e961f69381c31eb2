import Agent
import Engine
import Foundation
import Generation
import Models
import RL
import Search
import Support

/// One JSON object per step, appended to `metrics.jsonl` in the run folder.
public struct MetricsLog {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// Drops lines of steps after `step`: a resumed run redoes them.
    public func truncate(after step: Int) throws {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let lineStep = object["step"] as? Double
            else { return false }
            return lineStep <= Double(step)
        }
        try writeAtomically(Data(kept.map { $0 + "\n" }.joined().utf8), to: url)
    }

    public func append(_ metrics: [String: Double]) throws {
        var line = try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys])
        line.append(0x0A)
        if !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }
}

/// Warnings for the usual ways RL on LLMs goes wrong, read from each step's
/// metrics: the entropy collapsing, the KL to the reference exploding, the
/// policy giving up on the search tool.
public struct CollapseAlarms: Sendable {
    var firstEntropy: Double?
    var mostSearches = 0.0

    public init() {}

    public mutating func check(_ metrics: [String: Double]) -> [String] {
        var warnings: [String] = []
        if let entropy = metrics["entropy"] {
            if let first = firstEntropy, first > 0.05, entropy < 0.2 * first {
                warnings.append(String(format: "entropy fell from %.3f to %.3f: the policy may be collapsing", first, entropy))
            }
            firstEntropy = firstEntropy ?? entropy
        }
        if let kl = metrics["kl"], kl > 1 {
            warnings.append(String(format: "KL to the reference is %.2f: the policy is far from where it started", kl))
        }
        if let searches = metrics["searches_per_trajectory"] {
            if mostSearches >= 0.5, searches == 0 {
                warnings.append(String(format: "no searches this step (%.2f per trajectory at best before)", mostSearches))
            }
            mostSearches = max(mostSearches, searches)
        }
        if let share = metrics["zero_gradient_group_share"], share == 1, metrics["reward_std"] == 0 {
            warnings.append("every group's rewards were equal: no learning signal this step")
        }
        return warnings
    }
}

/// Scores a greedy agent of the current policy (on held-out questions,
/// typically) and returns metrics prefixed `eval_`, which join that step's
/// line of `metrics.jsonl`.
public typealias PolicyEvaluation = (ModelPolicy) async throws -> [String: Double]

extension RLTrainer {
    /// The current policy as a greedy agent, as evaluations use it.
    public func greedyAgent() async throws -> ModelPolicy {
        try await makeAgent(sampling: .greedy, seed: config.trainer.seed)
    }

    /// Steps until `total_steps`, logging each step's metrics, checkpointing
    /// every `save_every` steps and at the end; a LoRA run ends by writing
    /// its adapters as a PEFT folder (`adapter/`). `onStep` sees each report
    /// with its warnings (for a progress display).
    public func run(onStep: (StepReport, [String]) -> Void = { _, _ in }) async throws {
        let folder = URL(fileURLWithPath: config.trainer.outputDir)
        let log = MetricsLog(url: folder.appendingPathComponent("metrics.jsonl"))
        try log.truncate(after: state.step)
        var alarms = CollapseAlarms()
        while state.step < config.trainer.totalSteps {
            var report = try await step()
            if let evaluation, config.evaluation.every > 0,
                state.step % config.evaluation.every == 0 || state.step == config.trainer.totalSteps
            {
                report.metrics.merge(try await evaluation(try await greedyAgent())) { $1 }
            }
            report.metrics["peak_memory_mib"] = peakResidentMiB()
            try log.append(report.metrics)
            let warnings = alarms.check(report.metrics)
            if config.trainer.saveEvery > 0 && state.step % config.trainer.saveEvery == 0 || state.step == config.trainer.totalSteps {
                try saveCheckpoint(to: checkpointFolder(step: state.step))
            }
            onStep(report, warnings)
        }
        if policy.loraConfig != nil {
            try policy.saveLoRAAdapter(to: folder.appendingPathComponent("adapter"), baseModel: config.policy.model)
        }
    }
}
