import Agent
import Engine
import Foundation

public enum QuestionKind: String, Sendable, Codable, CaseIterable {
    case singleHop = "single_hop"
    case twoHop = "two_hop"
}

/// One step of a question's reasoning chain: read `attribute` of `entity`.
public struct Hop: Sendable, Equatable, Hashable, Codable {
    public var entity: Int
    public var attribute: Attribute

    public init(entity: Int, attribute: Attribute) {
        self.entity = entity
        self.attribute = attribute
    }
}

/// A question with its gold answers and the passages that answer it. `hops`
/// is the ground truth the simulator uses to decide what a query needs; it is
/// written to JSONL too, so a question read back is the same question.
public struct WorldQuestion: Sendable, Equatable, Codable {
    public var question: String
    public var answers: [String]
    public var kind: QuestionKind
    /// Passage ids, one per hop, in reasoning order.
    public var support: [String]
    public var hops: [Hop]

    enum CodingKeys: String, CodingKey {
        case question, answers = "answer", kind, support, hops
    }

    public var rolloutRow: RolloutRow { RolloutRow(question: question, goldAnswers: answers) }
}

extension World {
    /// Every question the world can ask: each fact of each entity once, and
    /// each two-hop form from each entity it applies to.
    public static func questions(_ entities: [Entity]) -> [WorldQuestion] {
        func make(_ text: String, _ subject: Entity, _ attributes: [Attribute]) -> WorldQuestion {
            var hops: [Hop] = []
            var entity = subject
            for attribute in attributes {
                hops.append(Hop(entity: entity.index, attribute: attribute))
                if case let .entity(next)? = entity.value(attribute) { entity = entities[next] }
            }
            let last = hops[hops.count - 1]
            return WorldQuestion(
                question: Templates.fill(text, subject: subject.name),
                answers: entities.answers(entities[last.entity].value(last.attribute)!),
                kind: hops.count == 1 ? .singleHop : .twoHop,
                support: hops.map { entities[$0.entity].passageID }, hops: hops)
        }
        return entities.flatMap { entity in
            entity.kind.attributes.map { make(Templates.question($0), entity, [$0]) }
                + Templates.twoHop.filter { entity.kind.attributes.contains($0.first) }
                .map { make($0.text, entity, [$0.first, $0.second]) }
        }
    }

    /// Draws the test questions at random, then keeps for training only the
    /// questions that read none of the test questions' facts, so a policy
    /// cannot pass the test by remembering answers it was rewarded for. Both
    /// splits stay in shuffled order, so any prefix is a fair sample.
    static func split(
        _ questions: [WorldQuestion], testFraction: Double,
        _ rng: inout RandomGenerator
    ) -> (train: [WorldQuestion], test: [WorldQuestion]) {
        var shuffled = questions
        rng.shuffle(&shuffled)
        let testCount = max(1, Int((Double(questions.count) * testFraction).rounded()))
        let testFacts = Set(shuffled.prefix(testCount).flatMap(\.hops))
        let train = shuffled.dropFirst(testCount).filter { $0.hops.allSatisfy { !testFacts.contains($0) } }
        return (train, Array(shuffled.prefix(testCount)))
    }
}

/// One JSON object a line, keys sorted so the files are byte-stable.
enum JSONL {
    static func write<T: Encodable>(_ records: some Sequence<T>, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for record in records {
            data.append(try encoder.encode(record))
            data.append(UInt8(ascii: "\n"))
        }
        try data.write(to: url, options: .atomic)
    }

    static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> [T] {
        let decoder = JSONDecoder()
        return try String(decoding: Data(contentsOf: url), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: true)
            .map { try decoder.decode(T.self, from: Data($0.utf8)) }
    }
}

extension WorldQuestion {
    /// Writes `{"answer": [...], "hops": [...], "kind", "question", "support": [...]}` lines.
    public static func writeJSONL(_ questions: [WorldQuestion], to url: URL) throws {
        try JSONL.write(questions, to: url)
    }

    public static func readJSONL(from url: URL) throws -> [WorldQuestion] {
        try JSONL.read(WorldQuestion.self, from: url)
    }
}

extension World {
    private struct CorpusLine: Encodable {
        let id: String, title: String, text: String
    }

    /// The corpus in the form the BM25 index builder reads (`{"id", "title", "text"}`).
    public func writeCorpus(to url: URL) throws {
        try JSONL.write(passages.map { CorpusLine(id: $0.id, title: $0.title, text: $0.text) }, to: url)
    }

    /// `corpus.jsonl`, `train.jsonl` and `test.jsonl` in `directory` (created if missing).
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try writeCorpus(to: directory.appendingPathComponent("corpus.jsonl"))
        try WorldQuestion.writeJSONL(train, to: directory.appendingPathComponent("train.jsonl"))
        try WorldQuestion.writeJSONL(test, to: directory.appendingPathComponent("test.jsonl"))
    }
}
