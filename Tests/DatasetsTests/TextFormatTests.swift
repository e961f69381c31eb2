import Datasets
import Foundation
import Support
import Testing

/// JSONL, JSON and CSV read into the same rows as parquet; QA mapping over all of them.
@Suite struct TextFormatTests {
    /// Writes `text` to a temporary file called `name` (its extension picks the format; errors quote the name).
    func file(_ name: String, _ text: String) throws -> URL {
        // A folder per file: tests run in parallel and reuse names, which the error messages show.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("datasets-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func rows(_ url: URL) throws(DatasetError) -> [Row] {
        var iterator = try DatasetFile(contentsOf: url).makeRowIterator()
        var rows: [Row] = []
        while let row = try iterator.next() { rows.append(row) }
        return rows
    }

    func error(_ url: URL) -> DatasetError? {
        do { _ = try rows(url) } catch { return error }
        return nil
    }

    @Test func jsonlKeepsKeyOrderTypesAndEscapes() throws {
        let url = try file(
            "a.jsonl",
            """
            {"z": 1, "a": [true, null, 2.5, -3], "s": "tab\\t\\u00e9\\ud83d\\ude00 \\"q\\"", "o": {"k": {}}}

            {"z": 9223372036854775807, "big": 1e400000}\r
            """)
        let error = self.error(url)
        #expect(error?.description.contains("a.jsonl:3") == true, "\(String(describing: error))")
        let good = try file(
            "b.jsonl",
            "{\"z\": 1, \"a\": [true, null, 2.5, -3], \"s\": \"tab\\t\\u00e9\\ud83d\\ude00 \\\"q\\\"\", \"o\": {\"k\": {}}}\n\n{\"n\": 12345678901234567890}\r\n"
        )
        let read = try rows(good)
        #expect(read.count == 2)
        #expect(read[0].fields.map(\.name) == ["z", "a", "s", "o"])
        #expect(read[0]["a"] == .list([.bool(true), .null, .double(2.5), .int(-3)]))
        #expect(read[0]["s"] == .string("tab\té😀 \"q\""))
        #expect(read[0]["o"] == .object([.init("k", .object([]))]))
        // Beyond Int64: a double rather than an error.
        #expect(read[1]["n"] == Double("12345678901234567890").map(JSONValue.double))
    }

    @Test func badJSONLinesNameFileAndLine() throws {
        for (text, detail) in [
            ("{\"a\": 1}\n{\"a\": }\n", "b.jsonl:2"), ("{\"a\": 1} x\n", "b.jsonl:1"),
            ("\n\n[1, 2]\n", "b.jsonl:3: expected a JSON object"), ("{\"a\": \"open\n", "b.jsonl:1"),
        ] {
            let error = self.error(try file("b.jsonl", text))
            guard case .malformed(let message) = error else {
                Issue.record("\(text.debugDescription): \(String(describing: error))")
                continue
            }
            #expect(message.hasPrefix(detail), "\(message)")
        }
    }

    @Test func jsonArrayFileReadsAsTheParquetFixture() throws {
        let json = try rows(try fixture("search_r1_rows.json"))
        let parquet = try rows(try fixture("dict_snappy_v2.parquet"))
        #expect(json == parquet)
    }

    @Test func csvFollowsRFC4180() throws {
        let url = try file(
            "c.csv",
            "\u{FEFF}id,question,answers\r\n"
                + "1,\"comma, and \"\"quotes\"\"\",\"[\"\"x\"\", \"\"y\"\"]\"\r\n"
                + "\n"
                + "2,\"two\nlines\",\r\n"
                + "007,plain \"inner\" quote,last")
        let read = try rows(url)
        #expect(
            read.map(\.value) == [
                .object([
                    .init("id", .string("1")), .init("question", .string("comma, and \"quotes\"")),
                    .init("answers", .string("[\"x\", \"y\"]")),
                ]),
                .object([.init("id", .string("2")), .init("question", .string("two\nlines")), .init("answers", .string(""))]),
                .object([
                    .init("id", .string("007")), .init("question", .string("plain \"inner\" quote")),
                    .init("answers", .string("last")),
                ]),
            ])
    }

    @Test func csvErrorsNameTheLine() throws {
        let cases = [
            ("a,b\n1,2\n3,\"open\n4,5\n", "c.csv:3: unterminated quoted field (opened on line 3)"),
            ("a,b\n1,2\n\"x\"y,2\n", "c.csv:3: text after the closing quote of a field"),
            ("a,b\n1,2\n\n1,2,3\n", "c.csv:4: 3 fields, but the header has 2"),
        ]
        for (text, message) in cases { #expect(error(try file("c.csv", text)) == .malformed(message)) }
    }

    @Test func unknownExtensionIsAnError() throws {
        let error = self.error(try file("d.txt", "x"))
        guard case .unreadable = error else {
            Issue.record("\(String(describing: error))")
            return
        }
    }

    @Test func headPrintsOneJSONObjectPerRow() throws {
        let row = try rows(try fixture("dict_zstd_v1.parquet"))[3]
        let prompt = String(repeating: "Answer the given question. ", count: 4) + "Question: who wrote question number 3?\\n"
        #expect(
            row.value.jsonText == #"{"id": "hotpotqa_3", "question": "who wrote question number 3?", "golden_answers": null, "#
                + #""data_source": "hotpotqa", "prompt": [{"role": "user", "content": "\#(prompt)"}], "ability": "fact-reasoning", "#
                + #""reward_model": {"style": "rule", "ground_truth": {"target": ["answer 3", "alias 0"]}}, "#
                + #""extra_info": {"split": "test", "index": 3}}"#)
        #expect(JSONValue.list([.double(0.5), .double(.nan), .string("\u{1}é")]).jsonText == "[0.5, null, \"\\u0001é\"]")
    }

    @Test func searchR1ParquetMapsToQuestions() throws {
        let read = try rows(try fixture("dict_snappy_v1.parquet"))
        let mapping = QAMapping(defaultDataSource: "train")
        #expect(
            try mapping.qaRow(read[0], number: 0)
                == QARow(id: "nq_0", question: "who wrote question number 0?", goldAnswers: ["answer 0"], dataSource: "nq", index: 0))
        // Null question; empty golden_answers (present, so no fallback); null golden_answers falls back to the reward model's.
        #expect(throws: DatasetError.self) { try mapping.qaRow(read[1], number: 1) }
        let empty = #expect(throws: DatasetError.self) { try mapping.qaRow(read[2], number: 2) }
        #expect(empty?.description.contains("row 3: answers field 'golden_answers'") == true)
        #expect(try mapping.qaRow(read[3], number: 3).goldAnswers == ["answer 3", "alias 0"])
        let target = QAMapping(answersField: "reward_model.ground_truth.target", defaultDataSource: "train")
        #expect(try target.qaRow(read[2], number: 2).goldAnswers == ["answer 2"])
    }

    @Test func nqOpenJSONLMapsWithFileDefaults() throws {
        let url = try file(
            "nq_dev.jsonl",
            """
            {"question": "who sang it", "answer": ["Bob", "Bobby"]}
            {"question": "when", "answer": "1972", "extra_info": {"index": 40}}
            {"q": "custom", "gold": 7, "data_source": "mine", "id": 12}
            """)
        let read = try rows(url)
        let mapping = QAMapping(defaultDataSource: "nq_dev")
        #expect(
            try mapping.qaRow(read[0], number: 0)
                == QARow(id: "nq_dev_0", question: "who sang it", goldAnswers: ["Bob", "Bobby"], dataSource: "nq_dev", index: 0))
        #expect(
            try mapping.qaRow(read[1], number: 1)
                == QARow(id: "nq_dev_40", question: "when", goldAnswers: ["1972"], dataSource: "nq_dev", index: 40))
        let missing = #expect(throws: DatasetError.self) { try mapping.qaRow(read[2], number: 2) }
        #expect(missing == .mapping("row 3: no string question field 'question' (columns: q, gold, data_source, id)"))
        let custom = QAMapping(questionField: "q", answersField: "gold", defaultDataSource: "nq_dev")
        #expect(
            try custom.qaRow(read[2], number: 2)
                == QARow(id: "12", question: "custom", goldAnswers: ["7"], dataSource: "mine", index: 2))
    }

    @Test func preparedRecordIsWhatLoadQuestionsReads() {
        let row = QARow(id: "nq_1", question: "q?", goldAnswers: ["a", "b"], dataSource: "nq", index: 1)
        #expect(
            row.record(prompt: "P").jsonText
                == "{\"id\": \"nq_1\", \"question\": \"q?\", \"answer\": [\"a\", \"b\"], \"data_source\": \"nq\", \"index\": 1, \"prompt\": \"P\"}"
        )
    }
}
