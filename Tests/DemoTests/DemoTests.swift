import Demo
import Foundation
import Reports
import Support
import Testing

/// `zerosearch demo --quick`, as a newcomer runs it.
@Suite struct DemoTests {

    /// The whole quick pipeline from its shipped base (models built, baselines
    /// scored, RL against the simulator and the real engine, results and
    /// report written), and learning: the untrained agent hardly searches;
    /// after 24 RL steps it searches and its reward (F1, scored with the real
    /// engine it never trained with) is higher. Seeds fix every draw, so a
    /// pass is not luck; the margins are under half of what it reaches
    /// (F1 10.9 → 31.6 and 0.02 → 0.73 searches per question, docs/demo.md).
    @Test func trainedAgentBeatsTheUntrainedOne() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = DemoSettings.quick(seed: 1)
        #expect(settings.models.base == Demo.quickBase(seed: 1)?.path && !settings.models.base.isEmpty, "seed 1's base is shipped")
        let demo = Demo(
            settings: settings, seed: 1, output: folder.appendingPathComponent("out"),
            cache: folder.appendingPathComponent("cache"))
        let results = try await demo.run(observer: SilentObserver())
        print(results.table)

        #expect(results.rows.map(\.method) == ["direct", "rag", "untrained_agent", "zerosearch", "search_r1"])
        for row in results.rows {
            #expect(row.overall.questions == settings.evaluation.questions)
            #expect(row.singleHop.questions + row.twoHop.questions == row.overall.questions)
        }
        // The given base is used as it is: its recorded build, and it reads.
        #expect(results.build.base.seconds > 0 && (results.build.base.readingAccuracy ?? 0) > 0.5)

        let rows = Dictionary(uniqueKeysWithValues: results.rows.map { ($0.method, $0) })
        let untrained = try #require(rows["untrained_agent"])
        for method in ["zerosearch", "search_r1"] {
            let trained = try #require(rows[method])
            #expect(trained.overall.f1 > untrained.overall.f1 + 0.08, "\(method)")
            #expect(trained.searchesPerQuestion > untrained.searchesPerQuestion + 0.3, "\(method)")
        }

        let run = try RunFolder(contentsOf: folder.appendingPathComponent("out/zerosearch"))
        let rewards = try #require(run.series("reward_mean")).map(\.y)
        #expect(rewards.count == settings.training.trainer.totalSteps)
        #expect(rewards.allSatisfy { (0...1).contains($0) })
        // The noise curriculum rises over the ZeroSearch run; the real engine is never asked for noise.
        let noise = try #require(run.series("noise_probability")).map(\.y)
        #expect(noise.first! == 0 && noise.last! > 0.3)
        let real = try RunFolder(contentsOf: folder.appendingPathComponent("out/search_r1"))
        #expect(try #require(real.series("noisy_share")).allSatisfy { $0.y == 0 })

        let saved = try JSONDecoder().decode(DemoResults.self, from: Data(contentsOf: folder.appendingPathComponent("out/results.json")))
        #expect(saved.rows == results.rows)
        let html = try String(contentsOf: folder.appendingPathComponent("out/report.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("zerosearch") && html.contains("search_r1"))
    }

    /// Models built from nothing (tokenizer fitted, base pretrained and
    /// checked on reading, simulator and policy fine-tuned) land in the cache,
    /// and a second build reuses every one.
    @Test func modelsAreBuiltOnceAndReused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var settings = DemoSettings.quick(seed: 1)
        settings.models.base = ""
        settings.models.pretrainPages = 1000
        settings.models.pretrain.steps = 60
        settings.models.simulator.steps = 20
        let demo = Demo(
            settings: settings, seed: 1, output: folder.appendingPathComponent("out"),
            cache: folder.appendingPathComponent("cache"))
        let built = try demo.buildModels(observer: SilentObserver()).models.build
        #expect(built.base.readingAccuracy != nil && built.base.finalLoss != nil)
        let cached = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("cache").path)
        #expect(Set(cached.map { String($0.prefix(while: { $0 != "-" })) }) == ["base", "simulator", "policy"])

        let again = try demo.buildModels(observer: SilentObserver()).models.build
        #expect(again.base == built.base && again.simulator == built.simulator && again.policy == built.policy)
    }

    @Test func aBaseThatCannotBeLoadedIsNamed() throws {
        var settings = DemoSettings.quick(seed: 1)
        settings.models.base = "/nonexistent/base"
        let demo = Demo(
            settings: settings, seed: 1, output: URL(fileURLWithPath: "/nonexistent/out"),
            cache: URL(fileURLWithPath: "/nonexistent/cache"))
        #expect { try demo.buildModels(observer: SilentObserver()) } throws: { "\($0)".contains("models.base") }
    }
}

@Suite struct DemoSettingsTests {
    @Test func overridesReachNestedFields() throws {
        let settings = try DemoSettings.quick(seed: 0).applying([
            "training.trainer.total_steps=7", "models.policy.lr=0.0005",
            "evaluation.ablations=true", "models.search_rate=0.5",
        ])
        #expect(settings.training.trainer.totalSteps == 7)
        #expect(settings.models.policy.lr == 0.0005)
        #expect(settings.models.searchRate == 0.5)
        #expect(settings.evaluation.ablations)
        #expect(settings.models.entities == DemoSettings.quick(seed: 0).models.entities)
    }

    @Test func badOverridesAreNamed() {
        let cases = [
            ("training.trainer.stepz=3", "training.trainer.stepz"), ("training", "training"),
            ("training.trainer.total_steps=many", "training.trainer.total_steps"), ("models.policy=3", "models.policy"),
            ("models.parallelWorlds=0", "models.parallelWorlds"), ("models.parallel_worlds=0", "models.parallel_worlds"),
            ("models.search_rate=1.5", "models.search_rate"), ("training.rollout.group_size=0", "rollout.group_size"),
            ("models.pretrain.lr=0", "models.pretrain.lr"), ("evaluation.questions=0", "evaluation.questions"),
        ]
        for (bad, field) in cases {
            #expect("\(bad)") { try DemoSettings.full.applying([bad]) } throws: { error in
                (error as? InvalidInput).map { "\($0)".contains(field) } ?? false
            }
        }
    }
}
