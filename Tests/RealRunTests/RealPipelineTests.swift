import Demo
import Foundation
import RealRun
import Support
import Testing

/// `zerosearch real` end to end on a five-article corpus and the test
/// suite's tiny model: every stage runs, and a second run finds every
/// output and redoes nothing.
@Suite struct RealPipelineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tinyModel = Demo.quickBase(seed: 1)!

    /// Articles that answer NQ-open dev's first three training questions and
    /// the first two development questions (lines 0–2, 2500–2501).
    static let articles = [
        ("Apollo 17", "Apollo 17 was the last time anyone was on the Moon, in December 1972."),
        ("Bastard Executioner", "The Bastard Executioner ran for one season of ten episodes."),
        ("Lonely Boy", "Lonely Boy is a song that Andrew Gold sang and wrote in 1977."),
        ("Dynastic cycle", "In the dynastic cycle the right to rule is called the Mandate of Heaven."),
        ("Hollies", "He Ain't Heavy, He's My Brother is a ballad recorded by the Hollies."),
    ]

    static let settings = [
        "simulator.base=\(tinyModel.path)", "simulator.lora_rank=2", "simulator.tuning.steps=2", "simulator.tuning.batch_size=2",
        "simulator.max_tokens=24", "cold_start.policy=\(tinyModel.path)", "cold_start.questions=4", "cold_start.require_answer=false",
        "cold_start.lora_rank=2",
        "cold_start.tuning.steps=2", "cold_start.tuning.batch_size=2", "training.trainer.total_steps=2",
        "training.trainer.save_every=1", "training.rollout.prompts_per_step=2", "training.rollout.group_size=2",
        "training.rollout.max_turn_tokens=8", "training.rollout.max_observation_tokens=64", "training.rollout.max_context_tokens=512",
        "evaluation.limit=2", "evaluation.splits=[dev]",
    ]

    @Test func everyStageRunsAndASecondRunRedoesNothing() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("real-pipeline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let models = folder.appendingPathComponent("models")
        let wiki = models.appendingPathComponent("wiki")
        try FileManager.default.createDirectory(at: wiki, withIntermediateDirectories: true)
        // The corpus stage finds the package's file and goes on from it (no download).
        let summaries = Dictionary(uniqueKeysWithValues: Self.articles.map { ($0.0, ["title": $0.0, "extract": $0.1]) })
        try JSONSerialization.data(withJSONObject: summaries, options: [.sortedKeys])
            .write(to: wiki.appendingPathComponent("summaries_en-us.json"))

        let pipeline = RealPipeline(
            settings: try RealSettings.full.applying(Self.settings), output: folder.appendingPathComponent("run"), models: models,
            questions: Self.root.appendingPathComponent("data/nq_open_dev.jsonl"))
        let results = try #require(try await pipeline.run(observer: SilentObserver()))
        #expect(results.rows.map(\.method) == ["direct", "rag", "cold_start", "zerosearch", "zerosearch_prompt_sim", "search_r1"])
        let scored = try #require(results.rows.first?.overall.questions)
        #expect(scored > 0 && scored <= 2, "the dev split's first answerable questions, at most evaluation.limit")
        #expect(results.rows.allSatisfy { $0.overall.questions == scored && $0.splits["dev"]?.questions == scored })
        #expect(results.rows.first { $0.method == "rag" }?.searchesPerQuestion == 1)
        let run = folder.appendingPathComponent("run")
        for name in ["zerosearch", "zerosearch_prompt_sim", "search_r1"] {
            let model = run.appendingPathComponent("\(name)/model")
            #expect(FileManager.default.fileExists(atPath: model.appendingPathComponent("config.json").path), "\(name) saved as a model")
            #expect(FileManager.default.fileExists(atPath: model.appendingPathComponent("tokenizer.json").path))
            let metrics = try String(contentsOf: run.appendingPathComponent("\(name)/metrics.jsonl"), encoding: .utf8)
            #expect(metrics.split(separator: "\n").count == 2)
        }
        let answerable = try JSONLines.read(
            QuestionSplits.Question.self, from: models.appendingPathComponent("splits/train-answerable.jsonl"))
        #expect(answerable.map(\.line).starts(with: [0, 2]), "the Apollo and Bastard Executioner questions; not line 1")

        let html = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("search_r1") && html.contains("zerosearch_prompt_sim"))

        // Everything exists now: a second run trains and scores nothing and
        // leaves the same results.
        let modified =
            try FileManager.default.attributesOfItem(
                atPath: run.appendingPathComponent("zerosearch/model/model.safetensors").path)[.modificationDate] as? Date
        let again = try #require(try await pipeline.run(observer: SilentObserver()))
        #expect(again == results)
        #expect(
            try FileManager.default.attributesOfItem(
                atPath: run.appendingPathComponent("zerosearch/model/model.safetensors").path)[.modificationDate] as? Date == modified)
    }

    @Test func settingsAreCheckedByName() throws {
        #expect(try RealSettings.full.applying(["simulator.tuning.steps=12"]).simulator.tuning.steps == 12)
        #expect { try RealSettings.full.applying(["simulator.tuning.step=12"]) } throws: { "\($0)".contains("simulator.tuning.steps") }
        #expect { try RealSettings.full.applying(["evaluation.splits=[train]"]) } throws: { "\($0)".contains("evaluation.splits") }
        #expect { try RealSettings.full.applying(["runs=[search_r2]"]) } throws: { "\($0)".contains("search_r1") }
        #expect(RealSettings.full.quick.training.rollout.promptsPerStep < RealSettings.full.training.rollout.promptsPerStep)
        #expect(RealSettings.full.quick.runs == ["zerosearch"] && RealSettings.full.quick.evaluation.splits == ["dev"])
    }

    /// The checked-in config says what the defaults are: editing one without
    /// the other fails here.
    @Test func theConfigFileIsTheDefaults() throws {
        let file = try RealSettings.load(contentsOf: Self.root.appendingPathComponent("configs/nq-wiki-smollm2.yaml"))
        #expect(file == RealSettings.full)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("real-config-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let edited = folder.appendingPathComponent("edited.yaml")
        try "simulator: {redraws: 0}\ntraining: {actor: {lr: 1.0e-3}}\n".write(to: edited, atomically: true, encoding: .utf8)
        let loaded = try RealSettings.load(contentsOf: edited)
        #expect(loaded.simulator.redraws == 0 && loaded.training.actor.lr == 1e-3)
        #expect(loaded.training.policy.lora == RealSettings.full.training.policy.lora && loaded.simulator.maxTokens == 448)
        for (text, named) in [
            ("simulator: {redraw: 1}\n", "simulator.redraws"), ("simulator: {redraws: -1}\n", "simulator.redraws"),
            ("[1, 2]\n", "mapping"), ("top_k: {a: 1}\n", "top_k"),
        ] {
            try text.write(to: edited, atomically: true, encoding: .utf8)
            #expect { try RealSettings.load(contentsOf: edited) } throws: { "\($0)".contains(named) }
        }
    }
}
