import Agent
import Evaluation
import Foundation
import Generation
import Search
import Synchronization
import Testing
import Tokenizers

/// A policy that answers from a table keyed by a word of its prompt, and
/// searches when the prompt has no documents and the table says so. Tokens
/// are characters of a tiny byte tokenizer, so no model file is needed.
final class TablePolicy: RolloutPolicy {
    final class Context {
        var text: String
        init(_ text: String) { self.text = text }
    }
    let tokenizer: any Tokenizer = CharacterTokenizer()
    let reply: @Sendable (String) -> String
    init(reply: @escaping @Sendable (String) -> String) { self.reply = reply }
    func promptTokens(_ instructions: String) -> [Int32] { tokenizer.encode(instructions, addSpecialTokens: false) }
    func makeContext(_ prompt: [Int32]) -> Context { Context(tokenizer.decode(prompt, skipSpecialTokens: false)) }
    func append(_ tokens: [Int32], to context: Context) { context.text += tokenizer.decode(tokens, skipSpecialTokens: false) }
    func makeDecoding(stopStrings: [String]) -> Decoding { Decoding(reply: reply, tokenizer: tokenizer) }

    /// Each reply is written whole in one step.
    final class Decoding: RolloutDecoding {
        let reply: @Sendable (String) -> String
        let tokenizer: any Tokenizer
        private var started: [(id: Int, context: Context)] = []
        init(reply: @escaping @Sendable (String) -> String, tokenizer: any Tokenizer) {
            self.reply = reply
            self.tokenizer = tokenizer
        }
        func add(_ context: Context, id: Int, maxNewTokens: Int, stream: UInt64) { started.append((id, context)) }
        var isEmpty: Bool { started.isEmpty }
        func step() -> [(id: Int, completion: Completion)] {
            defer { started = [] }
            return started.map { id, context in
                let text = reply(context.text)
                context.text += text
                let tokens = tokenizer.encode(text, addSpecialTokens: false)
                return (id, Completion(tokens: tokens, logProbs: tokens.map { _ in 0 }, finishReason: .length))
            }
        }
    }
}

/// One token per Unicode scalar (values below 2^16 here): enough for text round trips.
struct CharacterTokenizer: Tokenizer {
    let vocabularySize = 65536
    let bosTokenID: Int32? = nil
    let eosTokenID: Int32? = nil
    let specialTokenIDs: Set<Int32> = []
    let chatTemplateSource: String? = nil
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] { text.unicodeScalars.map { Int32($0.value) } }
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        String(String.UnicodeScalarView(ids.compactMap { Unicode.Scalar(UInt32($0)) }))
    }
    func id(for token: String) -> Int32? { token.unicodeScalars.count == 1 ? Int32(token.unicodeScalars.first!.value) : nil }
    func token(for id: Int32) -> String? { Unicode.Scalar(UInt32(id)).map { String($0) } }
}

/// Knows capitals: answers a query naming a country.
final class CapitalEngine: SearchEngine {
    let name = "capitals"
    let requests = Mutex<[SearchRequest]>([])
    func search(_ batch: [SearchRequest]) async -> [SearchResult] {
        requests.withLock { $0 += batch }
        return batch.map { $0.query.contains("France") ? .documents(["The capital of France is Paris."]) : .documents(["Nothing."]) }
    }
}

/// An engine whose every call fails, as a server that is down.
struct DownEngine: SearchEngine {
    let name = "down"
    func search(_ batch: [SearchRequest]) async -> [SearchResult] { batch.map { _ in .failed("connection refused") } }
}

@Suite struct EvaluationTests {
    let questions = [
        EvaluationQuestion(question: "What is the capital of France?", goldAnswers: ["Paris"], dataSource: "nq"),
        EvaluationQuestion(question: "What is the capital of Spain?", goldAnswers: ["Madrid"], dataSource: "nq"),
        EvaluationQuestion(question: "Who wrote Hamlet?", goldAnswers: ["Shakespeare", "William Shakespeare"], dataSource: "triviaqa"),
    ]

    /// A policy that searches when it may and answers from what it read.
    func agentPolicy() -> TablePolicy {
        TablePolicy { context in
            if context.contains("Paris") { return "<answer>Paris</answer>" }
            if context.contains("Hamlet") { return "<answer>the playwright Shakespeare</answer>" }
            if context.contains("<search> query </search>"), !context.contains("<information>Doc") {
                return context.contains("France") ? "<search>France capital</search>" : "<search>Spain</search>"
            }
            return "I do not know."
        }
    }

    @Test func everyRowIsScoredPerSourceAndOnAverage() async throws {
        let engine = CapitalEngine()
        let report = try await evaluate(
            questions, method: .agent, policy: agentPolicy(), engine: engine, simulatedEngine: true,
            batchSize: 2)
        #expect(report.overall.questions == 3, "the last partial batch counts")
        #expect(report.bySource["nq"] == nil ? false : report.bySource["nq"]!.subem == 0.5)
        #expect(report.bySource["triviaqa"]!.subem == 1 && report.bySource["triviaqa"]!.em == 0)
        #expect(abs(report.average.subem - 0.75) < 1e-12, "mean of the sources")
        #expect(abs(report.overall.subem - 2.0 / 3) < 1e-12, "every question weighted equally")
        #expect(report.formatFailures == 1, "Spain: no answer")
        #expect(report.searchesPerQuestion == 2.0 / 3)
        #expect(
            engine.requests.withLock { $0 }.allSatisfy { $0.goldAnswers.isEmpty && $0.question.isEmpty },
            "the engine never sees gold answers")
    }

    @Test func ragRetrievesWithTheQuestionAndDirectNeverSearches() async throws {
        let engine = CapitalEngine()
        let rag = try await evaluate(questions, method: .rag, policy: agentPolicy(), engine: engine, simulatedEngine: false)
        #expect(engine.requests.withLock { $0.map(\.query) } == questions.map(\.question))
        #expect(rag.bySource["nq"]!.subem == 0.5)
        let direct = try await evaluate(questions, method: .direct, policy: agentPolicy(), engine: engine, simulatedEngine: false)
        #expect(direct.searchesPerQuestion == 0)
        #expect(rag.failedSearches == 0 && direct.failedSearches == 0)
        let down = try await evaluate(questions, method: .rag, policy: agentPolicy(), engine: DownEngine(), simulatedEngine: false)
        #expect(down.failedSearches == 3, "every retrieval failed and is counted")
        let agent = try await evaluate(questions, method: .agent, policy: agentPolicy(), engine: DownEngine(), simulatedEngine: false)
        #expect(agent.failedSearches > 0 && Double(agent.failedSearches) == agent.searchesPerQuestion * 3)
        #expect(engine.requests.withLock { $0.count } == 3, "direct answering made no search")
        let table = markdownTable([direct, rag])
        #expect(table.contains("| Method | nq | triviaqa | Avg |"))
        #expect(table.contains("| rag | 50.00 | 100.00 | 75.00 |"))
    }

    /// Each question's searches and answer are kept with its scores, written
    /// one a line, and left out of a report's JSON only when there are none.
    @Test func answersAreKeptPerQuestion() async throws {
        let report = try await evaluate(
            questions, method: .agent, policy: agentPolicy(), engine: CapitalEngine(), simulatedEngine: false, batchSize: 2)
        let answers = try #require(report.answers)
        #expect(answers.map(\.question) == questions.map(\.question))
        #expect(answers.map(\.answer) == ["Paris", nil, "the playwright Shakespeare"])
        #expect(answers.map(\.queries) == [["France capital"], ["Spain"], []])
        #expect(answers.map(\.scores.subem) == [1, 0, 1])
        let lines = try answerLines([("agent", report)]).split(separator: 0x0A).map {
            try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any]
        }
        #expect(lines.count == 3)
        #expect(lines[0]["method"] as? String == "agent" && lines[0]["data_source"] as? String == "nq")
        #expect(lines[0]["answer"] as? String == "Paris" && lines[0]["subem"] as? Double == 1)
        #expect(lines[1]["answer"] == nil && lines[1]["queries"] as? [String] == ["Spain"])

        let saved = try JSONDecoder().decode(EvaluationReport.self, from: JSONEncoder().encode(report))
        #expect(saved.answers == report.answers)
        var bare = report
        bare.answers = nil
        let bareJSON = try JSONEncoder().encode(bare)
        #expect(!String(decoding: bareJSON, as: UTF8.self).contains("answers"), "a summary, as a report saved before answers were kept")
        #expect(try JSONDecoder().decode(EvaluationReport.self, from: bareJSON).answers == nil)
        let rag = try await evaluate(questions, method: .rag, policy: agentPolicy(), engine: CapitalEngine(), simulatedEngine: false)
        #expect(rag.answers?.map(\.queries) == questions.map { [$0.question] }, "RAG searches with the question")
    }
}
