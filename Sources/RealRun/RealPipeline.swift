import Agent
import Evaluation
import Foundation
import Generation
import Models
import RL
import Reports
import Runs
import Search
import Support
import Training

/// ZeroSearch on real data, end to end (docs/real.md): the Wikipedia corpus
/// and its BM25 index → NQ-open splits → simulation tuning → the policy's
/// cold start → RL against the tuned simulator, the prompt-mode simulator
/// and BM25 → every row scored with BM25 → `results.json` and `report.html`.
///
/// Each stage leaves its output complete or not at all (files and model
/// folders are written atomically), and a stage whose output exists is
/// skipped: an interrupted run, or a session that runs the stages one at a
/// time, resumes at the first missing output; an RL run resumes from its
/// last checkpoint. The models (simulator, cold start) live under `models`,
/// shared by every run folder that uses the same settings for them.
public struct RealPipeline {
    public enum Stage: String, CaseIterable, Sendable {
        case corpus, splits, simulator, coldStart = "cold_start", train, evaluate
    }

    /// One RL run: its row's name, what it trains against.
    public struct Run: Sendable {
        public enum Engine: Sendable { case tunedSimulator, promptSimulator, bm25 }
        public var name: String
        public var description: String
        public var engine: Engine
    }

    public static let runs = [
        Run(name: "zerosearch", description: "RL against the tuned simulator, with the noise curriculum", engine: .tunedSimulator),
        Run(
            name: "zerosearch_prompt_sim", description: "RL against the prompt-mode simulator (untuned SmolLM2)",
            engine: .promptSimulator),
        Run(name: "search_r1", description: "RL against the real engine (BM25 top k)", engine: .bm25),
    ]

    public var settings: RealSettings
    public var output: URL
    public var models: URL
    public var questions: URL
    public var seed: UInt64

    public init(settings: RealSettings, output: URL, models: URL, questions: URL, seed: UInt64 = 0) {
        self.settings = settings
        self.output = output
        self.models = models
        self.questions = questions
        self.seed = seed
    }

    var chosenRuns: [Run] { Self.runs.filter { settings.runs.contains($0.name) } }
    var wiki: WikiCorpus.Files { WikiCorpus.Files(folder: models.appendingPathComponent("wiki")) }
    var splits: URL { models.appendingPathComponent("splits") }
    /// Keyed by what makes them, so that changed settings never reuse a stale
    /// model. The cold start's demonstrations are the simulator's samples, so
    /// its key also covers how the simulator is sampled.
    var simulatorKey: String {
        SHA256.key([SHA256.key(settings.simulator.makingTheModel), "\(settings.topK)", "\(settings.snippetWords)"])
    }
    var simulatorFolder: URL {
        settings.simulator.model.isEmpty
            ? models.appendingPathComponent("simulator-" + simulatorKey) : URL(fileURLWithPath: settings.simulator.model)
    }
    var coldStartFolder: URL {
        settings.coldStart.model.isEmpty
            ? models.appendingPathComponent(
                "cold-start-"
                    + SHA256.key([
                        simulatorKey, SHA256.key(settings.simulator), SHA256.key(settings.coldStart),
                        "\(settings.training.rolloutConfig.maxObservationTokens)",
                    ]))
            : URL(fileURLWithPath: settings.coldStart.model)
    }
    func runFolder(_ run: Run) -> URL { output.appendingPathComponent(run.name) }
    /// Each trained agent as a plain model folder under its row's name.
    func modelFolder(_ run: Run) -> URL { runFolder(run).appendingPathComponent("model") }

    static func done(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path)
    }

    /// Runs every stage up to `last` whose output is missing.
    public func run(through last: Stage = .evaluate, observer: any StageObserver) async throws -> RealResults? {
        try settings.validate()
        for stage in Stage.allCases {
            let started = DispatchTime.now().uptimeNanoseconds
            switch stage {
            case .corpus: _ = try await WikiCorpus.pull(into: wiki.folder, log: standardErrorLine)
            case .splits: try makeSplits(observer: observer)
            case .simulator: try await tuneSimulator(observer: observer)
            case .coldStart: try await coldStart(observer: observer)
            case .train: for run in chosenRuns { try await train(run, observer: observer) }
            case .evaluate: return try await evaluate(observer: observer)
            }
            observer.note(String(format: "stage %@: %.1f s", stage.rawValue, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9))
            if stage == last { return nil }
        }
        return nil
    }

    func makeSplits(observer: any StageObserver) throws {
        guard !FileManager.default.fileExists(atPath: splits.appendingPathComponent(QuestionSplits.fileNames.summary).path) else { return }
        let index = try BM25Index(contentsOf: wiki.index)
        let prepared = try QuestionSplits(questions: questions, index: index, topK: settings.topK)
        try prepared.write(to: splits, topK: settings.topK)
        for (name, count) in prepared.summary(topK: settings.topK).splits.sorted(by: { $0.key < $1.key }) {
            observer.note("\(name): \(count.questions) questions, \(count.answerable) answerable")
        }
    }

    func split(_ name: String, answerableOnly: Bool) throws -> [QuestionSplits.Question] {
        let file = [
            "train": QuestionSplits.fileNames.train, "dev": QuestionSplits.fileNames.development, "test": QuestionSplits.fileNames.test,
        ][
            name]!
        let all = try JSONLines.read(QuestionSplits.Question.self, from: splits.appendingPathComponent(file))
        return answerableOnly ? all.filter(\.answerable) : all
    }

    func tuneSimulator(observer: any StageObserver) async throws {
        observer.note("simulator: \(simulatorFolder.path)")
        guard settings.simulator.model.isEmpty, !Self.done(simulatorFolder) else { return }
        let stage = settings.simulator
        let pairsFile = models.appendingPathComponent("simulator-pairs-\(simulatorKey).jsonl")
        let pairs = SimulatorTuning.ruleLabels(
            SimulatorTuning.collect(
                questions: try split("train", answerableOnly: false), answerGuided: stage.answerGuided,
                skipAnswerArticles: stage.skipAnswerArticles,
                index: try BM25Index(contentsOf: wiki.index), topK: settings.topK, snippetWords: settings.snippetWords))
        try JSONLines.write(pairs, to: pairsFile)
        let base = try LoadedModel(try await resolveModel(stage.base), prepareInference: false)
        let examples = SimulatorTuning.examples(
            pairs, model: base, ratio: stage.ratio, answerWeight: Float(stage.answerWeight),
            titleAnswerWeight: Float(stage.titleAnswerWeight), answerFirst: stage.answerFirst)
        observer.note(
            "simulator: \(pairs.filter { $0.label == .useful }.count) useful of \(pairs.count) pairs; \(examples.count) examples")
        try fineTune(
            examples, base: base, lora: SimulatorTuning.lora(rank: stage.loraRank, layers: stage.loraLayers),
            config: stage.tuning, title: "simulator", to: simulatorFolder, observer: observer)
    }

    func coldStart(observer: any StageObserver) async throws {
        observer.note("cold start: \(coldStartFolder.path)")
        guard settings.coldStart.model.isEmpty, !Self.done(coldStartFolder) else { return }
        let stage = settings.coldStart
        let asked = Array(try split("train", answerableOnly: false).prefix(stage.questions))
        observer.begin("cold start documents", total: asked.count)
        let documents = await ColdStart.documents(for: asked, simulator: try await simulatorEngine(tuned: true)) {
            observer.progress($0, detail: "")
        }
        observer.end()
        let policy = try LoadedModel(try await resolveModel(stage.policy), prepareInference: false)
        let examples = ColdStart.demonstrations(
            asked, documents: documents, model: policy,
            maxObservationTokens: settings.training.rolloutConfig.maxObservationTokens, requireAnswer: stage.requireAnswer)
        observer.note("cold start: \(examples.count) demonstrations of \(asked.count) questions")
        try requireValid(!examples.isEmpty, "cold_start.require_answer", "no simulated search held a gold answer")
        try fineTune(
            examples, base: policy, lora: SimulatorTuning.lora(rank: stage.loraRank),
            config: stage.tuning, title: "cold start", to: coldStartFolder, observer: observer)
    }

    func fineTune(
        _ examples: [SupervisedExample], base: LoadedModel, lora: LoRAConfig?, config: SupervisedConfig, title: String,
        to folder: URL, observer: any StageObserver
    ) throws {
        observer.begin(title, total: config.steps)
        try RealRun.fineTune(examples, base: base, lora: lora, config: config, to: folder) { step, loss in
            observer.progress(step + 1, detail: String(format: "loss %.3f", loss))
        }
        observer.end()
    }

    func simulatorEngine(tuned: Bool) async throws -> any SearchEngine {
        try await makeEngine(engineConfig(tuned ? .tunedSimulator : .promptSimulator))
    }

    func engineConfig(_ engine: Run.Engine) -> TrainConfig.Engine {
        var config = settings.training.engine
        config.topK = settings.topK
        config.seed = seed
        config.temperature = Float(settings.simulator.temperature)
        config.maxTokens = settings.simulator.maxTokens
        switch engine {
        case .tunedSimulator:
            config.spec = "sim:" + simulatorFolder.path
            config.simulatorMode = .sft
            config.redraws = settings.simulator.redraws
        case .promptSimulator:
            config.spec = "sim:" + settings.simulator.base
            config.simulatorMode = .prompt
        case .bm25:
            config.spec = "bm25:" + wiki.index.path
        }
        return config
    }

    /// The run's config: the shared one with its engine, the cold start as
    /// the policy, the training split's answerable questions (the real
    /// engine can reward only those, and every run trains on the same).
    func config(for run: Run) throws -> TrainConfig {
        var config = settings.training
        config.policy.model = coldStartFolder.path
        config.engine = engineConfig(run.engine)
        if run.engine == .bm25 {
            config.curriculum.start = 0
            config.curriculum.end = 0
        }
        config.data.train = splits.appendingPathComponent(QuestionSplits.fileNames.answerableTrain).path
        config.trainer.seed = seed
        config.trainer.outputDir = runFolder(run).path
        return config
    }

    func train(_ run: Run, observer: any StageObserver) async throws {
        guard !Self.done(modelFolder(run)) else { return }
        let job = try await TrainingJob(try config(for: run))
        let checkpoint = RLTrainer.latestCheckpoint(in: runFolder(run))
        observer.begin("train \(run.name)", total: job.config.trainer.totalSteps)
        _ = try await job.run(resumingFrom: checkpoint, exportModel: false) { report, _ in
            let metrics = report.metrics
            observer.progress(
                Int(metrics["step"] ?? 0),
                detail: String(
                    format: "reward %.3f, %.2f searches, noise %.2f", metrics["reward_mean"] ?? 0,
                    metrics["searches_per_trajectory"] ?? 0, metrics["noise_probability"] ?? 0))
        }
        observer.end()
        try exportHuggingFace(job.trainer.policy, tokenizerFrom: job.policyLocation, to: modelFolder(run), storage: .bf16)
    }

    /// Every row scored greedily with BM25 on the evaluation splits; each
    /// row's report is kept (`evaluation-<key>/<row>.json`, the key naming
    /// the evaluation settings) so that a resumed run scores only the missing rows.
    func evaluate(observer: any StageObserver) async throws -> RealResults {
        let stage = settings.evaluation
        var questions: [EvaluationQuestion] = []
        for name in stage.splits {
            var asked = try split(name, answerableOnly: stage.answerableOnly)
            if stage.limit > 0 { asked = Array(asked.prefix(stage.limit)) }
            questions += asked.map { EvaluationQuestion(question: $0.question, goldAnswers: $0.answer, dataSource: name) }
        }
        let engine = try await makeEngine(engineConfig(.bm25))
        let key = SHA256.key([SHA256.key(stage), "\(settings.topK)", SHA256.key(settings.training.rolloutConfig)])
        // The rows of the cold-started model are the same in every run that
        // shares it, so they are kept beside it and scored once.
        let shared = models.appendingPathComponent("evaluation-cold-start-" + SHA256.key([coldStartFolder.standardizedFileURL.path, key]))
        let folder = output.appendingPathComponent("evaluation-" + key)
        let rollout = settings.training.rolloutConfig
        let rows: [(name: String, description: String, method: EvaluationMethod, model: URL)] =
            [
                ("direct", "answer directly, no search", .direct, coldStartFolder),
                ("rag", "retrieve with the question (BM25 top k), then answer", .rag, coldStartFolder),
                ("cold_start", "the search agent after its cold start, before RL", .agent, coldStartFolder),
            ] + chosenRuns.map { ($0.name, $0.description, .agent, modelFolder($0)) }
        var results: [RealRow] = []
        var reports: [(method: String, report: EvaluationReport)] = []
        for row in rows {
            let file = (row.model == coldStartFolder ? shared : folder).appendingPathComponent("\(row.name).json")
            let report: EvaluationReport
            if let data = try? Data(contentsOf: file), let saved = try? JSONDecoder().decode(EvaluationReport.self, from: data) {
                report = saved
            } else {
                let agent = try ModelPolicy(model: try LoadedModel(row.model), sampling: .greedy)
                observer.begin("evaluate \(row.name)", total: questions.count)
                report = try await Evaluation.evaluate(
                    questions, method: row.method, policy: agent, engine: engine, simulatedEngine: false, rollout: rollout,
                    batchSize: 32
                ) { observer.progress($0, detail: "") }
                observer.end()
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try writeAtomically(try JSONEncoder().encode(report), to: file)
            }
            results.append(RealRow(method: row.name, description: row.description, report: report))
            reports.append((row.name, report))
            observer.note(
                String(
                    format: "%@: subEM %.1f, EM %.1f, F1 %.1f, %.2f searches, %d format failures (%@)", row.name,
                    100 * report.overall.subem, 100 * report.overall.em, 100 * report.overall.f1, report.searchesPerQuestion,
                    report.formatFailures, stage.splits.joined(separator: " + ")))
        }
        let summary = RealResults(rows: results, settings: settings, seed: seed)
        try writeAtomically(try prettyJSON(summary), to: output.appendingPathComponent("results.json"))
        try writeAtomically(try answerLines(reports), to: output.appendingPathComponent("answers.jsonl"))
        let report = Report(
            runs: try chosenRuns.map { try RunFolder(contentsOf: runFolder($0)) } + [try RunFolder(contentsOf: output)],
            title: "ZeroSearch on NQ-open with Wikipedia BM25 (SmolLM2-135M-Instruct)")
        try writeAtomically(Data(report.html().utf8), to: output.appendingPathComponent("report.html"))
        return summary
    }
}

/// One row of `results.json`: a method scored with the real engine.
public struct RealRow: Codable, Equatable, Sendable {
    public var method: String
    public var description: String
    /// Each evaluation split's scores (`dev`, `test`).
    public var splits: [String: ScoreSummary]
    /// Every scored question weighted equally.
    public var overall: ScoreSummary
    public var searchesPerQuestion: Double
    /// Responses with no `<answer>` element (scored 0).
    public var formatFailures: Int

    init(method: String, description: String, report: EvaluationReport) {
        self.method = method
        self.description = description
        splits = report.bySource
        overall = report.overall
        searchesPerQuestion = report.searchesPerQuestion
        formatFailures = report.formatFailures
    }

    enum CodingKeys: String, CodingKey {
        case method, description, splits, overall
        case searchesPerQuestion = "searches_per_question", formatFailures = "format_failures"
    }
}

/// `results.json` of `zerosearch real`.
public struct RealResults: Codable, Equatable, Sendable {
    public var rows: [RealRow]
    public var settings: RealSettings
    public var seed: UInt64

    /// Substring EM and F1 in percent per split, then searches and answer-format failures.
    public var table: String {
        let splits = settings.evaluation.splits
        let header = splits.map { $0.padding(toLength: 14, withPad: " ", startingAt: 0) }.joined()
        var lines = [
            String(repeating: " ", count: 24) + header + "searches  format failures",
            "method".padding(toLength: 24, withPad: " ", startingAt: 0) + String(repeating: "subEM     F1  ", count: splits.count),
        ]
        for row in rows {
            let cells = splits.map { split in
                let scores = row.splits[split]
                return String(format: "%5.1f %6.1f  ", 100 * (scores?.subem ?? 0), 100 * (scores?.f1 ?? 0))
            }
            lines.append(
                row.method.padding(toLength: 24, withPad: " ", startingAt: 0) + cells.joined()
                    + String(format: "%8.2f %16d", row.searchesPerQuestion, row.formatFailures))
        }
        return lines.joined(separator: "\n")
    }
}
