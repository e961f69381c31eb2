import Agent
import ArgumentParser
import Console
import Evaluation
import Foundation
import Generation
import Runs
import Search

struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a policy on a QA file (parquet, JSONL, CSV): Direct, CoT, RAG and the search agent, per data source.")

    @Option(help: "The policy model: GGUF file, Hugging Face folder or installed name.") var policy: String
    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "Questions: .parquet (Search-R1 schema), .jsonl/.json or .csv.") var data: String
    @Option(help: "Column holding the question.") var questionField = "question"
    @Option(help: "Column holding the gold answers (default: golden_answers, answer, answers or reward_model.ground_truth.target).")
    var answersField: String?
    @Option(help: "Keep only these data sources, comma-separated (e.g. nq,hotpotqa).") var sources: String?
    @Option(help: "Score the first N questions (0: all).") var limit = 0
    @Option(help: "Methods, comma-separated: direct, cot, rag, agent.") var methods = "agent"
    @Option(help: "Searches the agent may make.") var maxTurns = 2
    @Option(help: "Policy tokens per turn.") var maxTurnTokens = 500
    @Option(help: "Questions decoded together.") var batchSize = 16
    @Option(help: "Folder for results.json, results.md and answers.jsonl (each question's searches and answer).") var out: String?

    func run() async throws {
        let wanted = sources.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        let questions = try readQuestions(data, questionField: questionField, answersField: answersField, sources: wanted, limit: limit)
        let chosen = try methods.split(separator: ",").map { name in
            guard let method = EvaluationMethod(rawValue: String(name)) else {
                throw ValidationError("unknown method '\(name)': use direct, cot, rag or agent")
            }
            return method
        }

        let model = try LoadedModel(try await resolveModel(policy))
        let engine = try await engineOptions.makeEngine(sharing: (policy, model))
        let simulated = try engineOptions.config.parsedSpec().isSimulated
        if simulated {
            standardErrorLine("note: a simulated engine answers the searches from its own knowledge; it never sees gold answers")
        }
        var rollout = RolloutConfig()
        rollout.maxTurns = maxTurns
        rollout.maxTurnTokens = maxTurnTokens
        var reports: [EvaluationReport] = []
        for method in chosen {
            let agent = try ModelPolicy(model: model, sampling: .greedy)
            let progress = ProgressBar(title: "eval \(method.rawValue)", total: questions.count)
            var done = 0
            let report = try await evaluate(
                questions, method: method, policy: agent, engine: engine, simulatedEngine: simulated,
                rollout: rollout, batchSize: batchSize
            ) { scored in
                progress.advance(by: scored - done)
                done = scored
            }
            progress.finish()
            reports.append(report)
            standardErrorLine(
                String(
                    format: "%@: %d questions in %.0f s (%.1f questions/minute), %d without an answer, %.2f searches each, %d failed",
                    method.rawValue, questions.count, report.seconds, report.questionsPerMinute,
                    report.formatFailures, report.searchesPerQuestion, report.failedSearches))
        }
        let table = "Substring EM (%)\n\n" + markdownTable(reports) + "\n\nF1 (%)\n\n" + markdownTable(reports, score: \.f1)
        print(table)
        if let out {
            let folder = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let summaries = reports.map { report in
                var summary = report
                summary.answers = nil
                return summary
            }
            try encoder.encode(summaries).write(to: folder.appendingPathComponent("results.json"), options: .atomic)
            try answerLines(reports.map { ($0.method.rawValue, $0) })
                .write(to: folder.appendingPathComponent("answers.jsonl"), options: .atomic)
            try Data((table + "\n").utf8).write(to: folder.appendingPathComponent("results.md"), options: .atomic)
        }
    }
}
