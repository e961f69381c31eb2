import Agent
import Engine
import Foundation
import RL
import Search
import Support

/// The rows of the ZeroSearch tables: answering directly, with a chain of
/// thought, with documents retrieved for the question (RAG), or as the
/// search agent.
public enum EvaluationMethod: String, CaseIterable, Sendable, Codable {
    case direct, cot, rag, agent

    /// The baselines' own instructions; the agent keeps the rollout's (the Search-R1 prompt by default).
    var template: String? {
        switch self {
        case .direct: PolicyPrompt.direct
        case .cot: PolicyPrompt.chainOfThought
        case .rag: PolicyPrompt.retrievalAugmented
        case .agent: nil
        }
    }
}

/// One question to score, with the dataset it came from (`nq`, `hotpotqa`, …).
public struct EvaluationQuestion: Sendable, Equatable, Codable {
    public var question: String
    public var goldAnswers: [String]
    public var dataSource: String

    public init(question: String, goldAnswers: [String], dataSource: String) {
        self.question = question
        self.goldAnswers = goldAnswers
        self.dataSource = dataSource
    }
}

/// Mean scores over a set of questions.
public struct ScoreSummary: Sendable, Equatable, Codable {
    public var questions: Int
    public var em: Double
    public var subem: Double
    public var f1: Double

    init(_ scores: [AnswerScores]) {
        questions = scores.count
        let n = Double(max(scores.count, 1))
        em = scores.reduce(0) { $0 + $1.em } / n
        subem = scores.reduce(0) { $0 + $1.subem } / n
        f1 = scores.reduce(0) { $0 + $1.f1 } / n
    }
}

/// What one question got: the searches made and the answer given, with
/// its scores, so that two methods can be compared answer by answer.
public struct AnsweredQuestion: Sendable, Equatable, Codable {
    public var question: String
    public var dataSource: String
    public var queries: [String]
    /// `nil`: the response had no `<answer>` element.
    public var answer: String?
    public var scores: AnswerScores
}

public struct EvaluationReport: Sendable, Codable {
    public var method: EvaluationMethod
    public var engine: String
    /// A simulated engine answered the searches, from its own knowledge only.
    public var simulatedEngine: Bool
    public var bySource: [String: ScoreSummary]
    /// The mean of the per-source scores (the tables' "Avg").
    public var average: ScoreSummary
    /// Every question weighted equally.
    public var overall: ScoreSummary
    /// Responses with no `<answer>` element (scored 0).
    public var formatFailures: Int
    public var searchesPerQuestion: Double
    /// Searches whose engine call failed (the policy read the failure text
    /// instead of documents), RAG's retrievals included; counted as training counts them.
    public var failedSearches: Int
    public var seconds: Double
    public var questionsPerMinute: Double
    /// Every question in the order scored; nil where they are not kept (a
    /// summary, such as `zerosearch eval`'s `results.json`, or a report saved
    /// before answers were kept).
    public var answers: [AnsweredQuestion]?

    enum CodingKeys: String, CodingKey {
        case method, engine, simulatedEngine, bySource, average, overall, formatFailures, searchesPerQuestion, failedSearches
        case seconds, questionsPerMinute, answers
    }

    init(
        method: EvaluationMethod, engine: String, simulatedEngine: Bool, bySource: [String: ScoreSummary], average: ScoreSummary,
        overall: ScoreSummary, formatFailures: Int, searchesPerQuestion: Double, failedSearches: Int, seconds: Double,
        answers: [AnsweredQuestion]
    ) {
        self.method = method
        self.engine = engine
        self.simulatedEngine = simulatedEngine
        self.bySource = bySource
        self.average = average
        self.overall = overall
        self.formatFailures = formatFailures
        self.searchesPerQuestion = searchesPerQuestion
        self.failedSearches = failedSearches
        self.seconds = seconds
        self.answers = answers
        questionsPerMinute = Double(overall.questions) / max(seconds, 1e-9) * 60
    }

    /// Reports saved before failed searches were counted read as 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        method = try container.decode(EvaluationMethod.self, forKey: .method)
        engine = try container.decode(String.self, forKey: .engine)
        simulatedEngine = try container.decode(Bool.self, forKey: .simulatedEngine)
        bySource = try container.decode([String: ScoreSummary].self, forKey: .bySource)
        average = try container.decode(ScoreSummary.self, forKey: .average)
        overall = try container.decode(ScoreSummary.self, forKey: .overall)
        formatFailures = try container.decode(Int.self, forKey: .formatFailures)
        searchesPerQuestion = try container.decode(Double.self, forKey: .searchesPerQuestion)
        failedSearches = try container.decodeIfPresent(Int.self, forKey: .failedSearches) ?? 0
        seconds = try container.decode(Double.self, forKey: .seconds)
        questionsPerMinute = try container.decode(Double.self, forKey: .questionsPerMinute)
        answers = try container.decodeIfPresent([AnsweredQuestion].self, forKey: .answers)
    }
}

/// Scores a policy on every question (no partial batch is dropped: the
/// original's `drop_last` scored Bamboogle on 72 of 125 rows), `batchSize`
/// questions decoding together; give it a greedy policy, as the tables use.
/// The engine never sees gold answers (unless `revealGoldAnswers`: a test
/// world whose engine knows the answers only through the row); RAG retrieves
/// with the question itself.
public func evaluate<Policy: RolloutPolicy>(
    _ questions: [EvaluationQuestion], method: EvaluationMethod, policy: Policy, engine: any SearchEngine,
    simulatedEngine: Bool, rollout base: RolloutConfig = RolloutConfig(), batchSize: Int = 16,
    revealGoldAnswers: Bool = false, progress: (Int) -> Void = { _ in }
) async throws -> EvaluationReport {
    try requireValid(batchSize > 0, "batch_size", "must be positive")
    let started = DispatchTime.now().uptimeNanoseconds
    var config = base
    if let template = method.template { config.prompt = PolicyPrompt(template: template) }
    config.revealGoldAnswers = revealGoldAnswers
    if method != .agent { config.maxTurns = 0 }
    var rng = RandomGenerator(seed: 0)
    var scores: [AnswerScores] = []
    var answers: [AnsweredQuestion] = []
    var failures = 0
    var searches = 0
    var failedSearches = 0
    for start in stride(from: 0, to: questions.count, by: batchSize) {
        let batch = Array(questions[start..<min(start + batchSize, questions.count)])
        var rows = batch.map { RolloutRow(question: $0.question, goldAnswers: $0.goldAnswers) }
        if method == .rag {
            let documents = await engine.search(batch.map { SearchRequest(query: $0.question) })
            for index in rows.indices { rows[index].context = documents[index].text }
            failedSearches += documents.filter(\.failed).count
        }
        let trajectories = try await Agent.rollout(rows, policy: policy, engine: engine, noiseProbability: 0, rng: &rng, config: config)
        for (trajectory, question) in zip(trajectories, batch) {
            let score = scoreAnswer(trajectory.answer, gold: question.goldAnswers)
            scores.append(score)
            answers.append(
                AnsweredQuestion(
                    question: question.question, dataSource: question.dataSource,
                    queries: (method == .rag ? [question.question] : []) + trajectory.searches.map(\.query),
                    answer: trajectory.answer, scores: score))
            if trajectory.answer == nil { failures += 1 }
            searches += trajectory.searches.count + (method == .rag ? 1 : 0)
            failedSearches += trajectory.searches.filter(\.failed).count
        }
        progress(scores.count)
    }
    let sources = Dictionary(grouping: zip(questions, scores), by: { $0.0.dataSource }).mapValues { ScoreSummary($0.map(\.1)) }
    let perSource = Array(sources.values)
    var average = ScoreSummary([])
    average.questions = scores.count
    average.em = perSource.reduce(0) { $0 + $1.em } / Double(max(perSource.count, 1))
    average.subem = perSource.reduce(0) { $0 + $1.subem } / Double(max(perSource.count, 1))
    average.f1 = perSource.reduce(0) { $0 + $1.f1 } / Double(max(perSource.count, 1))
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    return EvaluationReport(
        method: method, engine: engine.name, simulatedEngine: simulatedEngine, bySource: sources,
        average: average, overall: ScoreSummary(scores), formatFailures: failures,
        searchesPerQuestion: Double(searches) / Double(max(questions.count, 1)), failedSearches: failedSearches, seconds: seconds,
        answers: answers)
}

/// The paper's table: one row per method, one column per data source and
/// the average, the chosen score in percent.
public func markdownTable(_ reports: [EvaluationReport], score: KeyPath<ScoreSummary, Double> = \.subem) -> String {
    let sources = Set(reports.flatMap(\.bySource.keys)).sorted()
    func cell(_ summary: ScoreSummary?) -> String { summary.map { String(format: "%.2f", 100 * $0[keyPath: score]) } ?? "–" }
    var lines = [
        "| Method | " + sources.joined(separator: " | ") + " | Avg |",
        "|---|" + String(repeating: "---|", count: sources.count + 1),
    ]
    for report in reports {
        lines.append(
            "| \(report.method.rawValue) | " + sources.map { cell(report.bySource[$0]) }.joined(separator: " | ")
                + " | \(cell(report.average)) |")
    }
    return lines.joined(separator: "\n")
}

/// A greedy agent's scores on held-out rows as training logs them (`eval_f1`,
/// `eval_em`, `eval_subem`, `eval_searches_per_trajectory`,
/// `eval_answered_share`, `eval_questions`, `seconds_evaluation`): every row
/// decodes in one batch.
public func evaluationMetrics<Policy: RolloutPolicy>(
    _ rows: [RolloutRow], policy: Policy, engine: any SearchEngine, rollout: RolloutConfig, revealGoldAnswers: Bool = false
) async throws -> [String: Double] {
    let questions = rows.map { EvaluationQuestion(question: $0.question, goldAnswers: $0.goldAnswers, dataSource: "eval") }
    let report = try await evaluate(
        questions, method: .agent, policy: policy, engine: engine, simulatedEngine: false,
        rollout: rollout, batchSize: max(rows.count, 1), revealGoldAnswers: revealGoldAnswers)
    return [
        "eval_f1": report.overall.f1, "eval_em": report.overall.em, "eval_subem": report.overall.subem,
        "eval_searches_per_trajectory": report.searchesPerQuestion,
        "eval_answered_share": 1 - Double(report.formatFailures) / Double(max(rows.count, 1)),
        "eval_questions": Double(rows.count),
        "seconds_evaluation": report.seconds,
    ]
}

/// Every answer of every named report, one JSON object a line (`answers.jsonl`),
/// each with its method's name: what to diff when two methods' scores differ, or do not.
public func answerLines(_ reports: [(method: String, report: EvaluationReport)]) throws -> Data {
    struct Line: Encodable {
        let method, dataSource, question: String
        let queries: [String]
        let answer: String?
        let em, subem, f1: Double
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    var data = Data()
    for (method, report) in reports {
        for answered in report.answers ?? [] {
            let line = Line(
                method: method, dataSource: answered.dataSource, question: answered.question, queries: answered.queries,
                answer: answered.answer, em: answered.scores.em, subem: answered.scores.subem, f1: answered.scores.f1)
            data.append(try encoder.encode(line))
            data.append(0x0A)
        }
    }
    return data
}
