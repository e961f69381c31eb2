import Demo
import Foundation
import Reports
import Testing

/// `zerosearch demo --quick` scaled down to a tiny world: the whole pipeline
/// runs (models built, baselines scored, RL against the simulator and the real
/// engine, results and report written) and the ZeroSearch run's reward rises.
@Suite struct DemoTests {
    @Test func tinyDemoLearns() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let demo = Demo(settings: .tiny, seed: 1, output: folder.appendingPathComponent("out"),
                        cache: folder.appendingPathComponent("cache"))
        let results = try await demo.run(observer: SilentObserver())

        #expect(results.rows.map(\.method) == ["direct", "rag", "untrained_agent", "zerosearch", "search_r1"])
        for row in results.rows {
            #expect(row.overall.questions == DemoSettings.tiny.training.evaluationQuestions)
            #expect(row.singleHop.questions + row.twoHop.questions == row.overall.questions)
        }
        let run = try RunFolder(contentsOf: folder.appendingPathComponent("out/zerosearch"))
        let rewards = try #require(run.series("reward_mean")).map(\.y)
        #expect(rewards.count == DemoSettings.tiny.training.steps)
        let first = rewards.prefix(3).reduce(0, +) / 3, last = rewards.suffix(3).reduce(0, +) / 3
        print("tiny demo: ZeroSearch reward \(rewards.map { String(format: "%.2f", $0) }.joined(separator: " "))")
        print(results.table)
        #expect(last > first + 0.05, "the trained agent's reward (\(last)) should beat the untrained one's (\(first))")
        // The noise curriculum rises over the run.
        let noise = try #require(run.series("noise_probability")).map(\.y)
        #expect(noise.first! < noise.last!)

        let saved = try JSONDecoder().decode(DemoResults.self, from: Data(contentsOf: folder.appendingPathComponent("out/results.json")))
        #expect(saved.rows == results.rows)
        let html = try String(contentsOf: folder.appendingPathComponent("out/report.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("zerosearch") && html.contains("search_r1"))

        // A second run reuses the cached models.
        let again = try demo.buildModels(observer: SilentObserver()).1
        #expect(again.build.policy == results.build.policy && again.build.simulator == results.build.simulator)
    }
}
