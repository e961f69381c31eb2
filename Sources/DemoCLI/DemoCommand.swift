import ArgumentParser
import Console
import Demo
import Foundation

/// `zerosearch demo`, also the whole of `zerosearch-demo`: the demo's own executable links only
/// the modules the demo needs (a fresh clone's build: 53 steps instead of 107; docs/demo.md).
public struct DemoCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "The whole idea in minutes on a CPU: a synthetic world, a tiny simulator and policy, RL against the simulator, scored with a real engine."
    )

    @Flag(help: "A 200-entity world, a shipped base that reads (seeds 0-2), 12 RL steps, no ablations: a minute or two.") var quick = false
    @Option(help: "Seeds the world, the models and the runs.") var seed: UInt64 = 0
    @Option(help: "Where results.json, each run's metrics.jsonl and report.html go.") var out = "runs/demo"
    @Option(help: "Where the built tokenizer and models are cached (default: the model cache's demo/ folder).") var cache: String?
    @Flag(help: "Only build (or find in the cache) the tokenizer and models.") var modelsOnly = false
    @Option(
        name: .customLong("set"), help: "Override one setting, e.g. --set training.trainer.total_steps=10 (repeatable; see docs/demo.md).")
    var overrides: [String] = []

    public init() {}

    public func run() async throws {
        var settings = quick ? DemoSettings.quick(seed: seed) : DemoSettings.full
        do {
            settings = try settings.applying(overrides)
        } catch {
            throw ValidationError("\(error)")
        }
        let demo = Demo(
            settings: settings, seed: seed, output: URL(fileURLWithPath: out),
            cache: cache.map { URL(fileURLWithPath: $0) } ?? Demo.defaultCache)
        if modelsOnly {
            _ = try demo.buildModels(observer: TerminalObserver())
            return
        }
        let results = try await demo.run(observer: TerminalObserver())
        print("\n" + results.table)
        print(
            String(
                format: "\nscored with BM25 over the world's passages on %d test questions; %.1f min in all",
                results.rows.first?.overall.questions ?? 0, results.seconds / 60))
        print("results: \(out)/results.json, report: \(out)/report.html")
    }
}
