import Demo
import Foundation
import Runs
import Search
import Support
import TestSupport
import Testing
import Training

/// Runs built by the library from a YAML config alone: the engine with every
/// option the file sets, relative paths, and the config a run folder keeps.
@Suite(.serialized) struct RunTests {
    /// The base shipped for `demo --quick`: a 2-layer model folder with its tokenizer.
    static let tinyModel = Demo.quickBase(seed: 1)!

    /// A fresh folder holding `questions.jsonl` (four NQ-style rows).
    func scratchFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("runs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let rows = [
            ("who wrote hamlet", "Shakespeare"), ("capital of france", "Paris"), ("largest planet", "Jupiter"),
            ("first man on the moon", "Neil Armstrong"),
        ]
        let lines = rows.map { #"{"question": "\#($0.0)", "answer": ["\#($0.1)"]}"# + "\n" }.joined()
        try Data(lines.utf8).write(to: folder.appendingPathComponent("questions.jsonl"))
        return folder
    }

    /// A chat-completions answer holding five documents.
    static let documents = #"""
        {"id": "x", "object": "chat.completion", "model": "served",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "Doc 1: one.\nDoc 2: two.\nDoc 3: three.\nDoc 4: four.\nDoc 5: five."}, "finish_reason": "stop"}]}
        """#

    func config(server: URL, in folder: URL, extra: String = "") -> String {
        """
        policy:
          model: \(Self.tinyModel.path)
        data:
          train: questions.jsonl
        engine:
          spec: sim+\(server.absoluteString)
          simulator_mode: sft
          served_model: simulator-14b
          timeout: 0.5
          concurrency: 2
          attempts: 1
          max_tokens: 64
          seed: 7
        \(extra)
        rollout:
          prompts_per_step: 2
          group_size: 2
          max_turn_tokens: 8
          max_observation_tokens: 64
          max_context_tokens: 256
          template: "Question: {question}\\n"
        algorithm:
          advantage: grpo
        actor:
          warmup_ratio: 0
        trainer:
          total_steps: 1
          save_every: 0
          output_dir: \(folder.appendingPathComponent("run").path)
        """
    }

    @Test func trainingRunsAgainstARemoteSimulatorConfiguredByItsYAML() async throws {
        let server = TestHTTPServer { request, _ in
            // A long query misses the 0.5 s deadline the YAML sets.
            let slow = (request.json?["messages"] as? [[String: Any]])?.last?["content"].map { "\($0)".contains("slow query") } ?? false
            return .json(Self.documents, after: slow ? .seconds(3) : .milliseconds(100))
        }
        defer { server.stop() }
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("run.yaml")
        try config(server: server.url, in: folder).write(to: file, atomically: true, encoding: .utf8)

        let job = try await TrainingJob(TrainConfig.load(contentsOf: file))
        #expect(job.rows.count == 4)
        let requests = (0..<6).map { SearchRequest(query: "query \($0)", question: "q", goldAnswers: ["a"], kind: .useful) }
        let results = await job.engine.search(requests + [SearchRequest(query: "slow query", kind: .useful)])
        #expect(results.prefix(6).allSatisfy { $0.failure == nil && $0.text.contains("Doc 5: five.") })
        #expect(results[6].failure != nil, "the 0.5 s timeout from the YAML abandons a 3 s answer")
        #expect(server.peakConcurrency == 2, "concurrency 2 from the YAML")
        for request in server.requests {
            #expect(request.json?["model"] as? String == "simulator-14b")
            #expect(request.json?["seed"] as? Int == 7)
            #expect(request.json?["max_tokens"] as? Int == 64)
            #expect(request.headers["authorization"] == nil, "no credential unless the config names one")
        }

        try await job.run(exportModel: false)
        let written = folder.appendingPathComponent("run/config.yaml")
        #expect(try String(contentsOf: written, encoding: .utf8) == job.config.yaml())
        let reloaded = try TrainConfig.load(contentsOf: written)
        #expect(reloaded == job.config, "re-running from the run folder's config.yaml is the same run")
        #expect(reloaded.data.train == folder.appendingPathComponent("questions.jsonl").standardizedFileURL.path)
    }

    @Test func aCredentialGoesOnlyWhereTheConfigNamesIt() async throws {
        setenv("OPENAI_API_KEY", "sk-real-key-that-must-not-leak", 1)
        setenv("ZEROSEARCH_TEST_SIMULATOR_KEY", "local-token", 1)
        let server = TestHTTPServer { _, _ in .json(Self.documents) }
        defer { server.stop() }
        var engine = TrainConfig.Engine()
        engine.spec = "sim+" + server.url.absoluteString
        engine.attempts = 1
        _ = try await makeEngine(engine).search([SearchRequest(query: "q")])
        engine.apiKeyEnv = "ZEROSEARCH_TEST_SIMULATOR_KEY"
        _ = try await makeEngine(engine).search([SearchRequest(query: "q")])
        #expect(server.requests.map { $0.headers["authorization"] } == [nil, "Bearer local-token"])
        engine.apiKeyEnv = "ZEROSEARCH_TEST_UNSET_KEY"
        await #expect(throws: InvalidInput.self) { _ = try await makeEngine(engine) }
    }

    @Test func relativePathsResolveAgainstTheConfigFolder() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("data:\n  train: questions.jsonl\nengine:\n  spec: bm25:index/wiki.bm25\n".utf8)
            .write(to: folder.appendingPathComponent("c.yaml"))
        let config = try TrainConfig.load(contentsOf: folder.appendingPathComponent("c.yaml"))
        #expect(config.data.train == folder.appendingPathComponent("questions.jsonl").path)
        #expect(config.engine.spec == "bm25:" + folder.appendingPathComponent("index/wiki.bm25").path)
        #expect(config.policy.model == "smollm2-135m-instruct", "a model name is not a path")
        let overridden = try TrainConfig.load(contentsOf: folder.appendingPathComponent("c.yaml"), overrides: ["data.train=other.jsonl"])
        #expect(overridden.data.train == FileManager.default.currentDirectoryPath + "/other.jsonl", "--set paths are the caller's")
    }
}
