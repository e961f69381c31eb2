import Agent
import Datasets
import Evaluation
import Foundation
import Support

/// Questions of any dataset file (parquet, JSONL, CSV), read through the
/// given column names: the first `limit` (0: all) of the chosen `sources`
/// (nil: every data source).
public func readQuestions(
    _ path: String, questionField: String = "question", answersField: String? = nil,
    sources: Set<String>? = nil, limit: Int = 0
) throws -> [EvaluationQuestion] {
    let url = URL(fileURLWithPath: path)
    let mapping = QAMapping(
        questionField: questionField, answersField: answersField,
        defaultDataSource: url.deletingPathExtension().lastPathComponent)
    var questions: [EvaluationQuestion] = []
    try forEachQARow(in: url, mapping: mapping, sources: sources) { row in
        questions.append(EvaluationQuestion(question: row.question, goldAnswers: row.goldAnswers, dataSource: row.dataSource))
        return limit == 0 || questions.count < limit
    }
    guard !questions.isEmpty else { throw InvalidInput(place: path, problem: "no questions") }
    return questions
}

extension EvaluationQuestion {
    public var rolloutRow: RolloutRow { RolloutRow(question: question, goldAnswers: goldAnswers) }
}
