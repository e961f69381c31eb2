import Foundation
import RL
import Search
import Support

/// NQ-open's dev questions in three deterministic splits, each question
/// marked with whether the real engine can answer it.
///
/// The splits are by line: the reserved test split is lines 3000–3609 (kept
/// for the final evaluation; nothing trains, tunes or selects on it), the
/// development split lines 2500–2999, the training split lines 0–2499. Lines,
/// not a hash, so that anyone can see which questions are reserved.
///
/// A question is *answerable* when one of the engine's top `k` passages for
/// the question itself contains a gold answer (`containsAnswer`: after SQuAD
/// normalisation, a gold answer is a substring of the passage). A real engine
/// can only reward a policy on such questions; a simulator needs no coverage.
public struct QuestionSplits: Sendable {
    public static let reserved = 3000..<3610
    public static let development = 2500..<3000
    public static let training = 0..<2500

    /// One prepared question: its line in the source file, its text and
    /// answers, and the rank (1-based) of the first top-k passage holding a
    /// gold answer (nil: none, the engine cannot answer it).
    public struct Question: Codable, Equatable, Sendable {
        public var line: Int
        public var question: String
        public var answer: [String]
        public var answerable: Bool
        public var answerRank: Int?

        public init(line: Int, question: String, answer: [String], answerable: Bool, answerRank: Int?) {
            self.line = line
            self.question = question
            self.answer = answer
            self.answerable = answerable
            self.answerRank = answerRank
        }

        enum CodingKeys: String, CodingKey {
            case line, question, answer, answerable
            case answerRank = "answer_rank"
        }
    }

    public var train: [Question] = []
    public var development: [Question] = []
    public var test: [Question] = []

    /// The files `write(to:)` creates in a folder.
    public static let fileNames = (
        train: "train.jsonl", development: "dev.jsonl", test: "test.jsonl", summary: "splits.json",
        answerableTrain: "train-answerable.jsonl"
    )

    /// Reads `{"question", "answer"}` lines (answers a list or one string)
    /// and marks each question against `index`'s top `topK` passages.
    public init(questions file: URL, index: BM25Index, topK: Int) throws {
        try requireValid(topK > 0, "--top-k", "must be positive")
        var rows: [(question: String, answers: [String])] = []
        let text = try String(contentsOf: file, encoding: .utf8)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let place = "\(file.path):\(number + 1)"
            let value: JSONValue
            do { value = try JSONValue.parse(String(line)) } catch { throw InvalidInput(place: place, problem: error.located) }
            guard let question = value["question"]?.string else { throw InvalidInput(place: place, problem: "no question string") }
            let answers = value["answer"]?.list?.compactMap(\.string) ?? value["answer"]?.string.map { [$0] } ?? []
            guard !answers.isEmpty else { throw InvalidInput(place: place, problem: "no answer") }
            rows.append((question, answers))
        }
        try requireValid(
            rows.count >= Self.reserved.upperBound, file.path,
            "has \(rows.count) questions; the splits need NQ-open dev's \(Self.reserved.upperBound)")
        let hits = index.search(rows.map(\.question), topK: topK)
        for (line, row) in rows.enumerated() {
            let rank = hits[line].firstIndex { containsAnswer(index.passage($0.document).rendered, gold: row.answers) }
            let question = Question(
                line: line, question: row.question, answer: row.answers, answerable: rank != nil, answerRank: rank.map { $0 + 1 })
            if Self.reserved.contains(line) {
                test.append(question)
            } else if Self.development.contains(line) {
                development.append(question)
            } else if Self.training.contains(line) {
                train.append(question)
            }
        }
    }

    /// Writes the three JSONL files, the training split's answerable questions, and a summary with each split's size and
    /// answerable share.
    public func write(to folder: URL, topK: Int) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try JSONLines.write(train, to: folder.appendingPathComponent(Self.fileNames.train))
        // What RL trains on: the questions the real engine can reward.
        try JSONLines.write(train.filter(\.answerable), to: folder.appendingPathComponent(Self.fileNames.answerableTrain))
        try JSONLines.write(development, to: folder.appendingPathComponent(Self.fileNames.development))
        try JSONLines.write(test, to: folder.appendingPathComponent(Self.fileNames.test))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try writeAtomically(encoder.encode(summary(topK: topK)), to: folder.appendingPathComponent(Self.fileNames.summary))
    }

    public struct Summary: Codable, Equatable, Sendable {
        public var rule: String
        public var splits: [String: SplitCount]
    }

    public struct SplitCount: Codable, Equatable, Sendable {
        public var lines: String
        public var questions: Int
        public var answerable: Int
    }

    public func summary(topK: Int) -> Summary {
        func count(_ questions: [Question], _ lines: Range<Int>) -> SplitCount {
            SplitCount(
                lines: "\(lines.lowerBound)-\(lines.upperBound - 1)", questions: questions.count,
                answerable: questions.filter(\.answerable).count)
        }
        return Summary(
            rule: "answerable: one of BM25's top \(topK) passages for the question contains a normalised gold answer",
            splits: [
                "train": count(train, Self.training), "dev": count(development, Self.development),
                "test": count(test, Self.reserved),
            ])
    }
}
