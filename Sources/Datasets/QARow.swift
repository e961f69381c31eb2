import Foundation
import Support

/// One question with its gold answers, as training and evaluation consume it.
public struct QARow: Equatable, Sendable {
    /// Stable across runs and row order, so evaluation results can be joined on it.
    public var id: String
    public var question: String
    public var goldAnswers: [String]
    public var dataSource: String
    public var index: Int

    public init(id: String, question: String, goldAnswers: [String], dataSource: String, index: Int) {
        self.id = id
        self.question = question
        self.goldAnswers = goldAnswers
        self.dataSource = dataSource
        self.index = index
    }

    /// The prepared-file line: `answer` is the key the trainer reads;
    /// `prompt`, when given, is the policy's rendered input.
    public func record(prompt: String? = nil) -> JSONValue {
        var members: [JSONValue.Member] = [
            .init("id", .string(id)), .init("question", .string(question)),
            .init("answer", .list(goldAnswers.map(JSONValue.string))), .init("data_source", .string(dataSource)),
            .init("index", .int(Int64(index))),
        ]
        if let prompt { members.append(.init("prompt", .string(prompt))) }
        return .object(members)
    }
}

/// Which columns hold the question, the answers, the source and the id. Field names
/// are dotted paths (`reward_model.ground_truth.target`) that walk nested objects.
public struct QAMapping: Sendable {
    public var questionField: String
    /// Nil: the first of `defaultAnswersFields` that a row has (non-null).
    public var answersField: String?
    /// The source of rows without a `data_source` column, e.g. the file's name.
    public var defaultDataSource: String

    /// Search-R1 parquet, NQ-open JSONL, common QA JSONL, then the reward model's copy.
    public static let defaultAnswersFields = ["golden_answers", "answer", "answers", "reward_model.ground_truth.target"]

    public init(questionField: String = "question", answersField: String? = nil, defaultDataSource: String) {
        self.questionField = questionField
        self.answersField = answersField
        self.defaultDataSource = defaultDataSource
    }

    /// Maps row `number` (0-based, in file order) to a question; throws `.mapping`
    /// naming the row and the fields it has when a required field is missing or ill-typed.
    public func qaRow(_ row: Row, number: Int) throws(DatasetError) -> QARow {
        func fail(_ detail: String) -> DatasetError {
            .mapping("row \(number + 1): \(detail) (columns: \(row.fields.map(\.name).joined(separator: ", ")))")
        }
        guard let question = row.value(at: questionField)?.string else {
            throw fail("no string question field '\(questionField)'")
        }
        let candidates = answersField.map { [$0] } ?? Self.defaultAnswersFields
        guard let (field, value) = candidates.lazy.compactMap({ name in row.value(at: name).map { (name, $0) } }).first else {
            throw fail("no answers field (looked for \(candidates.joined(separator: ", ")))")
        }
        guard let answers = Self.answers(value), !answers.isEmpty else {
            throw fail("answers field '\(field)' is not a non-empty string or list of strings: \(value.jsonText.prefix(60))")
        }
        let dataSource = row["data_source"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? defaultDataSource
        // Search-R1's extra_info.index counts within one source's split, so the source prefix makes it unique.
        let index = row.value(at: "extra_info.index")?.int.map(Int.init) ?? number
        let id =
            switch row["id"] {
            case .string(let s) where !s.isEmpty: s
            case .int(let i): String(i)
            default: "\(dataSource)_\(index)"
            }
        return QARow(id: id, question: question, goldAnswers: answers, dataSource: dataSource, index: index)
    }

    /// A list of strings or numbers, one string, or a string holding a JSON list (how a
    /// CSV cell carries several answers); nil for anything else.
    private static func answers(_ value: JSONValue) -> [String]? {
        switch value {
        case .list(let elements):
            let texts = elements.compactMap(scalarText)
            return texts.count == elements.count ? texts : nil
        case .string(let s) where s.hasPrefix("["):
            if let decoded = try? JSONValue.parse(s), case .list = decoded { return answers(decoded) }
            return [s]
        default: return scalarText(value).map { [$0] }
        }
    }

    private static func scalarText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let s): s
        case .int(let i): String(i)
        case .double(let d): String(d)
        default: nil
        }
    }
}

extension Row {
    /// The value at a dotted path; a column whose own name contains dots wins over the walk.
    /// Nil when missing or null, so "has this field" means "has a value".
    public func value(at path: String) -> JSONValue? {
        if let direct = self[path] { return direct.isNull ? nil : direct }
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1, var value = self[parts[0]] else { return nil }
        for part in parts.dropFirst() {
            guard let next = value[part] else { return nil }
            value = next
        }
        return value.isNull ? nil : value
    }
}

/// Reads a dataset file's rows as QA rows, in file order: rows of other
/// data sources are passed over, and rows that cannot be mapped stop the
/// reading, or are counted and passed over with `skipInvalid`. `body`
/// returns false to stop early. Returns how many rows were skipped.
@discardableResult
public func forEachQARow(
    in url: URL, mapping: QAMapping, sources: Set<String>? = nil, skipInvalid: Bool = false,
    _ body: (QARow) throws -> Bool
) throws -> Int {
    var rows = try DatasetFile(contentsOf: url).makeRowIterator()
    var skipped = 0
    var number = 0
    while let row = try rows.next() {
        defer { number += 1 }
        let qa: QARow
        // Mapping fails only for a row's own content; reading errors come from `rows.next()` and always stop.
        do { qa = try mapping.qaRow(row, number: number) } catch {
            guard skipInvalid else { throw error }
            skipped += 1
            continue
        }
        guard sources?.contains(qa.dataSource) ?? true else { continue }
        guard try body(qa) else { break }
    }
    return skipped
}
