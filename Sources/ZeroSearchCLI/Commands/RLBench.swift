import ArgumentParser
import Benchmarks
import Console
import Engine
import Foundation
import Generation
import Models
import Runs
import Support
import Training

/// One GRPO step on a real model against Hugging Face TRL's `GRPOTrainer` on
/// the same work, one after the other in this run; then the multi-turn
/// ZeroSearch step of a config, phase by phase.
struct RLBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rl",
        abstract: "Seconds per GRPO step against TRL (single-turn, same work), and a multi-turn ZeroSearch step by phase.")

    @Option(help: "GGUF file, Hugging Face folder, or an installed model's name.") var model = "smollm2-135m-instruct"
    @Option(help: "NQ-open questions (the first ones are used).") var questions = "data/nq_open_dev.jsonl"
    @Option(help: "Timed steps on each side, after one warm-up step.") var steps = 3
    @Option(help: "The multi-turn run's config (empty: leave it out).") var config = "configs/cpu-smollm2.yaml"
    @Option(name: .customLong("set"), help: "Override one setting of the multi-turn config (repeatable).") var overrides: [String] = []
    @Flag(help: "Skip TRL (ours only).") var noReference = false
    @Flag(help: "Only the multi-turn step.") var multiTurnOnly = false
    @Flag(help: "TRL with gradient checkpointing (its default; off, TRL is faster and uses more memory).")
    var trlGradientCheckpointing = false
    @Flag(help: "One JSON object per line.") var json = false
    @Option(help: "Python interpreter for TRL.") var python = "python3"

    func run() async throws {
        var work = RLStepBench.Work()
        work.steps = steps
        let location = try await resolveModel(model)
        var rows = multiTurnOnly ? [] : try await singleTurn(work: work, location: location)
        if !config.isEmpty {
            let settings = try TrainConfig.load(contentsOf: URL(fileURLWithPath: config), overrides: overrides)
            let progress = ProgressBar(title: "ZeroSearch multi-turn (ours)", total: work.steps + work.warmup, enabled: !json)
            // Its in-process simulator decodes with this copy's inference weights.
            let simulator = try LoadedModel(location)
            let multi = try await RLStepBench.measure(
                settings, steps: work.steps, warmup: work.warmup, preloaded: Preloaded(models: [model: simulator])
            ) { progress.update($0, detail: "") }
            progress.finish()
            rows.append(
                BenchRow(
                    name: "ZeroSearch step multi-turn (s)", ours: multi.medianSeconds, reference: nil, unit: "s",
                    detail: "\(config) \(overrides.joined(separator: " ")), median of \(work.steps)"))
            for (phase, seconds) in multi.phases.sorted(by: { $0.key < $1.key }) {
                rows.append(BenchRow(name: "  multi-turn \(phase) (s)", ours: seconds, reference: nil, unit: "s"))
            }
        }
        for row in rows { print(json ? row.jsonLine : row.text) }
    }

    /// Ours, then TRL on the same work; the rows comparing them.
    func singleTurn(work: RLStepBench.Work, location: URL) async throws -> [BenchRow] {
        var rows: [BenchRow] = []
        let progress = ProgressBar(title: "GRPO single-turn (ours)", total: work.steps + work.warmup, enabled: !json)
        // The policy is loaded once, by the run; no engine model beside it.
        let settings = RLStepBench.singleTurnConfig(model: location.path, questions: questions, work: work)
        let ours = try await RLStepBench.measure(
            settings, steps: work.steps, warmup: work.warmup,
            preloaded: Preloaded(engines: [settings.engine.spec: RLStepBench.NoSearch()])
        ) { progress.update($0, detail: "") }
        progress.finish()
        let oursPeak = peakResidentMiB()
        var trl: [String: Any] = [:]
        if !noReference {
            let exported = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-trl-model-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: exported) }
            try exportHuggingFace(try Decoder(contentsOf: location), tokenizerFrom: location, to: exported, storage: .f32)
            if !json { standardErrorLine("TRL GRPOTrainer (minutes per step)…") }
            let arguments: [String] = [
                python, "scripts/reference/grpo_trl.py", "--model", exported.path, "--questions", questions,
                "--template", RLStepBench.singleTurnTemplate, "--prompts", String(work.prompts), "--group", String(work.group),
                "--max-new-tokens", String(work.maxNewTokens), "--lora-rank", String(work.loraRank),
                "--lora-alpha", String(work.loraAlpha), "--lr", String(work.lr), "--beta", String(work.klCoef),
                "--steps", String(work.steps), "--warmup", String(work.warmup), "--threads", String(Parallel.threadCount),
            ]
            trl = try ReferenceScript.run(arguments + (trlGradientCheckpointing ? ["--gradient-checkpointing"] : [])).first ?? [:]
        }
        let shape = "\(work.prompts)×\(work.group), ≤ \(work.maxNewTokens) tokens, LoRA r\(work.loraRank), KL \(work.klCoef)"
        let trlSeconds = trl["median_seconds"] as? Double
        var trlRate: Double?
        if let tokens = trl["generated_tokens"] as? [Double], let seconds = trl["step_seconds"] as? [Double] {
            trlRate = tokens.reduce(0, +) / seconds.reduce(0, +)
        }
        rows.append(
            BenchRow(
                name: "GRPO step single-turn (s)", ours: ours.medianSeconds, reference: trlSeconds, unit: "s",
                detail:
                    "\(shape), median of \(work.steps); reference TRL GRPOTrainer, gradient checkpointing \(trlGradientCheckpointing ? "on" : "off")"
            ))
        if let trlSeconds {
            rows.append(BenchRow(name: "GRPO step speed-up over TRL", ours: trlSeconds / ours.medianSeconds, reference: nil, unit: "x"))
        }
        rows.append(
            BenchRow(
                name: "GRPO generated tokens per step-second", ours: ours.generatedTokensPerSecond, reference: trlRate, unit: "tokens/s"))
        rows.append(BenchRow(name: "GRPO peak RSS", ours: oursPeak, reference: trl["peak_rss_mib"] as? Double, unit: "MiB"))
        for (phase, seconds) in ours.phases.sorted(by: { $0.key < $1.key }) {
            rows.append(BenchRow(name: "  single-turn \(phase) (s)", ours: seconds, reference: nil, unit: "s"))
        }
        return rows
    }
}
