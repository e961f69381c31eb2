import Agent
import Engine
import Evaluation
import Foundation
import Generation
import Models
import Reports
import Runs
import Search
import Support
import Training
import World

/// The built-in demo, end to end: a synthetic world → a tokenizer and two
/// tiny models built from it (cached) → the untrained policy scored with the
/// real engine (Direct, RAG, agent) → RL against the fine-tuned simulator
/// (ZeroSearch) and against the real engine (Search-R1 style) → every trained
/// agent scored with the real engine → `results.json`, each run's
/// `metrics.jsonl`, and `report.html`.
public struct Demo {
    public var settings: DemoSettings
    public var seed: UInt64
    public var output: URL
    public var cache: URL

    public init(settings: DemoSettings, seed: UInt64, output: URL, cache: URL = Demo.defaultCache) {
        self.settings = settings
        self.seed = seed
        self.output = output
        self.cache = cache
    }

    public static var defaultCache: URL { ModelStore.cacheRoot.appendingPathComponent("demo") }

    /// The base shipped for `--quick` with this seed's world, if there is one
    /// (pretrained on its parallel worlds: it reads, and knows none of the
    /// world's facts).
    public static func quickBase(seed: UInt64) -> URL? {
        Bundle.module.url(forResource: "QuickBases/seed-\(seed)", withExtension: nil)
    }

    /// One RL run of the table.
    struct Run {
        enum EngineKind { case simulator, real }
        var name: String
        var description: String
        var engine: EngineKind
        /// nil: the curriculum from 0 to 0.5; a value: that noise probability throughout.
        var fixedNoise: Double?
        var stateMasking = true
    }

    var runs: [Run] {
        var runs = [
            Run(
                name: "zerosearch", description: "RL against the simulator: curriculum 0 → 0.5 noise, documents masked",
                engine: .simulator, fixedNoise: nil),
            Run(name: "search_r1", description: "RL against the real engine (BM25), documents masked", engine: .real, fixedNoise: 0),
        ]
        if settings.evaluation.ablations {
            runs.append(
                Run(
                    name: "zerosearch_fixed_noise", description: "as zerosearch, noise fixed at 0.5",
                    engine: .simulator, fixedNoise: 0.5))
            runs.append(
                Run(
                    name: "zerosearch_no_masking", description: "as zerosearch, documents trained on too",
                    engine: .simulator, fixedNoise: nil, stateMasking: false))
        }
        return runs
    }

    /// The world, its real engine, and its models (built, or reused from the cache).
    public func buildModels(observer: StageObserver) throws -> (world: World, realEngine: BM25Engine, models: DemoModels) {
        let world = try World(WorldConfig(entities: settings.models.entities, seed: seed))
        observer.note(
            "world: \(world.entities.count) entities, \(world.train.count) training and \(world.test.count) test questions (seed \(seed))")
        let realEngine = try Self.bm25(world, topK: settings.evaluation.bm25TopK)
        let models = try DemoModels.loadOrBuild(
            world: world, realEngine: realEngine, settings: settings.models, seed: seed,
            cache: cache, observer: observer)
        return (world, realEngine, models)
    }

    public func run(observer: StageObserver) async throws -> DemoResults {
        let started = DispatchTime.now().uptimeNanoseconds
        // Minutes of model building must not hold one of Swift's few pool threads
        // (other tasks' timers, HTTP deadlines, would wait behind it).
        let (world, realEngine, models) = try await computeOffPool { try buildModels(observer: observer) }
        let questions = world.test.prefix(settings.evaluation.questions).map {
            EvaluationQuestion(question: $0.question, goldAnswers: $0.answers, dataSource: $0.kind.rawValue)
        }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let policy = models.policy

        var rows: [DemoRow] = []
        let evaluationRollout = settings.training.rolloutConfig
        let worldFiles = try writeWorldFiles(world, realEngine: realEngine)
        func score(_ method: EvaluationMethod, _ decoder: Decoder, name: String, description: String) async throws {
            observer.begin("evaluate \(name)", total: questions.count)
            let agent = try await computeOffPool {
                ModelPolicy(
                    inference: try InferenceModel(decoder), tokenizer: policy.tokenizer, chatTemplate: policy.chatTemplate,
                    stopTokens: policy.stopTokens, sampling: .greedy, seed: 0)
            }
            let report = try await evaluate(
                questions, method: method, policy: agent, engine: realEngine, simulatedEngine: false,
                rollout: evaluationRollout, batchSize: 64
            ) {
                observer.progress($0, detail: "")
            }
            observer.end()
            let row = DemoRow(method: name, description: description, report: report)
            observer.note(
                String(
                    format: "%@: subEM %.1f (single-hop %.1f, two-hop %.1f), %.2f searches per question",
                    name, 100 * row.overall.subem, 100 * row.singleHop.subem, 100 * row.twoHop.subem,
                    row.searchesPerQuestion))
            rows.append(row)
        }
        try await score(.direct, policy.decoder, name: "direct", description: "answer directly, no search")
        try await score(.rag, policy.decoder, name: "rag", description: "retrieve with the question (BM25), then answer")
        try await score(.agent, policy.decoder, name: "untrained_agent", description: "the search agent before RL")
        for run in runs {
            let trained = try await train(
                run, world: world, worldFiles: worldFiles, models: models, realEngine: realEngine,
                observer: observer)
            try await score(.agent, trained, name: run.name, description: run.description)
        }

        let results = DemoResults(
            rows: rows, seed: seed, settings: settings, build: models.build,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        try writeAtomically(try prettyJSON(results), to: output.appendingPathComponent("results.json"))
        let report = Report(
            runs: try runs.map { try RunFolder(contentsOf: output.appendingPathComponent($0.name)) }
                + [try RunFolder(contentsOf: output)],
            title: "ZeroSearch demo (seed \(seed))")
        try writeAtomically(Data(report.html().utf8), to: output.appendingPathComponent("report.html"))
        return results
    }

    /// BM25 over the world's passages: the real engine, used only to score
    /// and for the Search-R1-style run.
    static func bm25(_ world: World, topK: Int) throws -> BM25Engine {
        var builder = BM25Builder()
        for passage in world.passages { builder.add(passage) }
        return BM25Engine(index: try builder.build(), topK: topK, name: "bm25(world)")
    }

    /// The world's training questions and BM25 index as files, so that each
    /// run's `config.yaml` names only things that exist: re-running it
    /// reproduces the run.
    func writeWorldFiles(_ world: World, realEngine: BM25Engine) throws -> (questions: URL, index: URL) {
        let folder = output.appendingPathComponent("world")
        let questions = folder.appendingPathComponent("train.jsonl")
        let index = folder.appendingPathComponent("bm25.index")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let lines = try world.train.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        try writeAtomically(Data(lines.utf8), to: questions)
        try realEngine.index.write(to: index)
        return (questions, index)
    }

    /// The run's config: the shared one with the run's own models, engine, noise and masking.
    func config(for run: Run, worldFiles: (questions: URL, index: URL), models: DemoModels) -> TrainConfig {
        var config = settings.training
        config.policy.model = models.policy.location.path
        config.data.train = worldFiles.questions.path
        config.engine.spec = run.engine == .real ? "bm25:" + worldFiles.index.path : "sim:" + models.simulator.location.path
        if run.engine == .real { config.engine.topK = settings.evaluation.bm25TopK }
        config.engine.seed = seed
        config.algorithm.stateMasking = run.stateMasking
        if let noise = run.fixedNoise {
            config.curriculum.start = noise
            config.curriculum.end = noise
        }
        config.trainer.seed = seed
        config.trainer.outputDir = output.appendingPathComponent(run.name).path
        return config
    }

    func train(
        _ run: Run, world: World, worldFiles: (questions: URL, index: URL), models: DemoModels, realEngine: BM25Engine,
        observer: StageObserver
    ) async throws -> Decoder {
        let config = config(for: run, worldFiles: worldFiles, models: models)
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: config.trainer.outputDir))
        let preloaded = Preloaded(
            models: [config.policy.model: models.policy, models.simulator.location.path: models.simulator],
            engines: ["bm25:" + worldFiles.index.path: realEngine],
            questions: [config.data.train: world.train.map(\.rolloutRow)])
        let job = try await TrainingJob(config, preloaded: preloaded)
        observer.begin("train \(run.name)", total: config.trainer.totalSteps)
        try await job.run(exportModel: false) { report, _ in
            let metrics = report.metrics
            observer.progress(
                Int(metrics["step"] ?? 0),
                detail: String(
                    format: "reward %.2f, %.2f searches, noise %.2f",
                    metrics["reward_mean"] ?? 0,
                    metrics["searches_per_trajectory"] ?? 0,
                    metrics["noise_probability"] ?? 0))
        }
        observer.end()
        return job.trainer.policy
    }
}
