import ArgumentParser
import Console
import Foundation
import Models
import RealRun
import Training

/// `zerosearch real [--quick] [--through STAGE]`: ZeroSearch on NQ-open with
/// a Wikipedia BM25 engine and SmolLM2, every stage resumable (docs/real.md).
struct RealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "real",
        abstract:
            "ZeroSearch on real data: Wikipedia BM25, NQ-open, a tuned simulator, a cold-started SmolLM2 trained three ways, scored with BM25."
    )

    @Option(help: "The run's settings (YAML, laid over the built-in defaults; configs/nq-wiki-smollm2.yaml holds them).")
    var config: String?
    @Flag(help: "The ZeroSearch run alone, half the questions per step, scored on the dev split (the models are the full run's, cached).")
    var quick = false
    @Flag(help: "Print the settings the run would use, as YAML, and stop.") var printConfig = false
    @Option(help: "Stop after this stage: corpus, splits, simulator, cold_start, train, evaluate.") var through = "evaluate"
    @Option(help: "Where the RL runs, evaluations, results.json and report.html go.") var out: String?
    @Option(help: "Where the corpus, splits, simulator and cold start go (shared by runs; default: the cache's real/ folder).")
    var models: String?
    @Option(help: "NQ-open dev questions.") var questions = "data/nq_open_dev.jsonl"
    @Option(help: "Seeds the simulator's sampling and the RL runs.") var seed: UInt64 = 0
    @Option(name: .customLong("set"), help: "Override one setting, e.g. --set training.trainer.total_steps=8 (repeatable; docs/real.md).")
    var overrides: [String] = []

    func run() async throws {
        guard let last = RealPipeline.Stage(rawValue: through) else {
            throw ValidationError(
                "--through must be one of \(RealPipeline.Stage.allCases.map(\.rawValue).joined(separator: ", ")), got '\(through)'")
        }
        let settings: RealSettings
        do {
            let base = try config.map { try RealSettings.load(contentsOf: URL(fileURLWithPath: $0)) } ?? RealSettings.full
            settings = try (quick ? base.quick : base).applying(overrides)
        } catch {
            throw ValidationError("\(error)")
        }
        if printConfig {
            print(try yamlText(settings), terminator: "")
            return
        }
        let output = out ?? (quick ? "runs/real-quick" : "runs/real") + (seed == 0 ? "" : "-seed\(seed)")
        let pipeline = RealPipeline(
            settings: settings, output: URL(fileURLWithPath: output),
            models: models.map { URL(fileURLWithPath: $0) } ?? ModelStore.cacheRoot.appendingPathComponent("real"),
            questions: URL(fileURLWithPath: questions), seed: seed)
        let started = DispatchTime.now().uptimeNanoseconds
        guard let results = try await pipeline.run(through: last, observer: TerminalObserver()) else { return }
        print("\n" + results.table)
        print(
            String(
                format: "\nscored with BM25 (top %d) on %d questions; %.1f min in all", settings.topK,
                results.rows.first?.overall.questions ?? 0, Double(DispatchTime.now().uptimeNanoseconds - started) / 6e10))
        print("results: \(output)/results.json, report: \(output)/report.html")
    }
}
