import Foundation
import RealRun
import Search
import Support
import Testing

@Suite struct RealDataTests {
    static let questions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/nq_open_dev.jsonl")

    func scratchFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("realdata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The package's `title → {title, extract, …}` object becomes corpus
    /// lines in file order; an article without text is left out.
    @Test func summariesBecomeCorpusLines() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let summaries = folder.appendingPathComponent("summaries.json")
        try Data(
            """
            {"Moon": {"title": "Moon", "extract": "The Moon is Earth's only natural satellite.", "topic": "Space"},
             "Empty": {"title": "Empty", "extract": "  "},
             "Paris": {"title": "Paris", "extract": "Paris is the capital of France.\\n"}}
            """.utf8
        ).write(to: summaries)
        let corpus = folder.appendingPathComponent("wiki.jsonl")
        #expect(try WikiCorpus.convert(summaries: summaries, to: corpus) == 2)
        var passages: [Passage] = []
        try JSONLCorpus.forEachPassage(in: corpus) { passage, _ in passages.append(passage) }
        #expect(
            passages == [
                Passage(id: "0", title: "Moon", text: "The Moon is Earth's only natural satellite."),
                Passage(id: "1", title: "Paris", text: "Paris is the capital of France."),
            ])

        try Data("{\"Moon\": {\"extract\": \"x\"},\n \"Bad\": [}".utf8).write(to: summaries)
        #expect { try WikiCorpus.convert(summaries: summaries, to: corpus) } throws: { error in
            "\(error)".contains("summaries.json") && "\(error)".contains("line 2")
        }
    }

    /// Lines 3000–3609 go to the test split and nowhere else; a question is
    /// answerable exactly when a top-k passage holds a gold answer.
    @Test func splitsKeepTheReservedLinesApart() throws {
        var builder = BM25Builder()
        // NQ-open dev's first question asks when anyone was last on the moon
        // ("14 December 1972 UTC" / "December 1972"); its second, who wrote
        // "He Ain't Heavy, He's My Brother".
        builder.add(Passage(id: "0", title: "Apollo 17", text: "The last crewed Moon landing was in December 1972."))
        builder.add(Passage(id: "1", title: "Hollies", text: "He Ain't Heavy, He's My Brother is a ballad by the Hollies."))
        let index = try builder.build()
        let splits = try QuestionSplits(questions: Self.questions, index: index, topK: 1)
        #expect(splits.train.map(\.line) == Array(0..<2500))
        #expect(splits.development.map(\.line) == Array(2500..<3000))
        #expect(splits.test.map(\.line) == Array(3000..<3610))
        #expect(splits.train[0].answerable && splits.train[0].answerRank == 1)
        #expect(!splits.train[1].answerable && splits.train[1].answerRank == nil, "the passage names the song, not its writers")

        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try splits.write(to: folder, topK: 1)
        let test = try String(contentsOf: folder.appendingPathComponent("test.jsonl"), encoding: .utf8)
        #expect(test.split(separator: "\n").count == 610)
        let train = try String(contentsOf: folder.appendingPathComponent("train.jsonl"), encoding: .utf8)
        let reservedQuestion = try #require(JSONValue.parse(String(test.split(separator: "\n")[0]))["question"]?.string)
        #expect(!train.contains(reservedQuestion))
    }

    @Test func aShortQuestionFileIsRefused() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("q.jsonl")
        try Data("{\"question\": \"q\", \"answer\": [\"a\"]}\n".utf8).write(to: file)
        var builder = BM25Builder()
        builder.add(Passage(id: "0", title: "t", text: "a"))
        #expect(throws: InvalidInput.self) { try QuestionSplits(questions: file, index: try builder.build(), topK: 1) }
        try Data("{\"question\": \"q\"}\n".utf8).write(to: file)
        #expect { try QuestionSplits(questions: file, index: try builder.build(), topK: 1) } throws: { "\($0)".contains("q.jsonl:1") }
    }
}
