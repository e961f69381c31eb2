import Demo
import Foundation
import Reports
import Testing

/// `zerosearch demo --quick` scaled down to a tiny world: the whole pipeline
/// runs (models built, baselines scored, RL against the simulator and the real
/// engine, results and report written) and a second run reuses the models.
/// Whether the trained agent beats the untrained one is not asserted: at this
/// size it does not yet (docs/demo.md, "Status").
@Suite struct DemoTests {
    @Test func tinyDemoRunsEndToEnd() async throws {
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
        #expect(rewards.allSatisfy { (0...1).contains($0) })
        print("tiny demo: ZeroSearch reward \(rewards.map { String(format: "%.2f", $0) }.joined(separator: " "))")
        print(results.table)
        // The noise curriculum rises over the ZeroSearch run; the real engine is never asked for noise.
        let noise = try #require(run.series("noise_probability")).map(\.y)
        #expect(noise.first! == 0 && noise.last! > 0.3)
        let real = try RunFolder(contentsOf: folder.appendingPathComponent("out/search_r1"))
        #expect(try #require(real.series("noisy_share")).allSatisfy { $0.y == 0 })

        let saved = try JSONDecoder().decode(DemoResults.self, from: Data(contentsOf: folder.appendingPathComponent("out/results.json")))
        #expect(saved.rows == results.rows)
        let html = try String(contentsOf: folder.appendingPathComponent("out/report.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("zerosearch") && html.contains("search_r1"))

        // A second run reuses the cached models.
        let again = try demo.buildModels(observer: SilentObserver()).models
        #expect(again.build.policy == results.build.policy && again.build.simulator == results.build.simulator)
    }
}

@Suite struct DemoSettingsTests {
    @Test func overridesReachNestedFields() throws {
        let settings = try DemoSettings.quick.applying(["training.steps=7", "models.policy.lr=0.0005", "training.ablations=true"])
        #expect(settings.training.steps == 7)
        #expect(settings.models.policy.lr == 0.0005)
        #expect(settings.training.ablations)
        #expect(settings.models.entities == DemoSettings.quick.models.entities)
    }

    @Test func badOverridesAreNamed() {
        for bad in ["training.stepz=3", "training", "training.steps=many", "models.policy=3"] {
            #expect(throws: DemoSettingError.self, "\(bad)") { try DemoSettings.full.applying([bad]) }
        }
    }
}
