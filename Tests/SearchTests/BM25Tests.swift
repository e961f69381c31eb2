import Foundation
import Search
import Testing

@Suite struct BM25Tests {
    static func index(_ texts: [String], parameters: BM25Parameters = BM25Parameters()) throws -> BM25Index {
        var builder = BM25Builder(parameters: parameters)
        for (i, text) in texts.enumerated() { builder.add(Passage(id: "d\(i)", title: "", text: text)) }
        return try builder.build()
    }

    /// N = 4 passages, lengths 3, 2, 4, 3 ("the", "of" are stop words), avgdl = 3.
    static let tiny = ["apple banana apple", "banana cherry", "cherry cherry cherry durian", "The apple of my eye"]

    // Worked by hand with k1 = 1.2, b = 0.75:
    // "apple": df 2, idf = ln(1 + 2.5/2.5) = ln 2.
    //   d0: tf 2, dl = avgdl, so the length norm is k1: 2·2.2/(2 + 1.2) = 1.375 → 0.693147·1.375 = 0.953077
    //   d3: tf 1: 2.2/2.2 = 1 → 0.693147
    // "cherry": df 2, idf = ln 2. d2: tf 3, dl 4: 1.2·(0.25 + 0.75·4/3) = 1.5 → 3·2.2/4.5 = 1.466667 → 1.016616
    //   d1: tf 1, dl 2: 1.2·(0.25 + 0.5) = 0.9 → 2.2/1.9 = 1.157895 → 0.802591
    // "durian": df 1, idf = ln(1 + 3.5/1.5) = ln(10/3) = 1.203973; d2: tf 1 → 2.2/2.5 = 0.88 → 1.059496
    @Test func scoresMatchTheHandComputedValues() throws {
        let index = try Self.index(Self.tiny)
        #expect(index.documentCount == 4 && index.averageLength == 3)
        let apple = index.search("apple", topK: 10)
        #expect(apple.map(\.document) == [0, 3])
        #expect(abs(apple[0].score - 0.953077) < 1e-5 && abs(apple[1].score - 0.693147) < 1e-5)
        let cherry = index.search("Cherry durian!", topK: 10)
        #expect(cherry.map(\.document) == [2, 1])
        #expect(abs(cherry[0].score - (1.016616 + 1.059496)) < 1e-5 && abs(cherry[1].score - 0.802591) < 1e-5)
        // A repeated query term counts twice, as in Lucene and bm25s.
        #expect(abs(index.search("apple apple", topK: 1)[0].score - 2 * 0.953077) < 1e-5)
        #expect(index.search("the of zebra", topK: 10).isEmpty)
    }

    @Test func parametersChangeTheScores() throws {
        // b = 0: no length normalisation, so d1's cherry (tf 1) scores ln2·2.2/2.2.
        let index = try Self.index(Self.tiny, parameters: BM25Parameters(k1: 1.2, b: 0))
        let cherry = index.search("cherry", topK: 10)
        #expect(abs(cherry[1].score - 0.693147) < 1e-5)
        #expect(index.parameters == BM25Parameters(k1: 1.2, b: 0))
    }

    @Test func tiesGoToTheEarlierPassage() throws {
        let texts = ["zebra one", "lion", "zebra two", "zebra three", "lion", "zebra four"]
        let index = try Self.index(texts)
        // Passages 0, 2, 3 and 5 score the same for "zebra": corpus order decides, also at the cut.
        #expect(index.search("zebra", topK: 2).map(\.document) == [0, 2])
        #expect(index.search("zebra", topK: 10).map(\.document) == [0, 2, 3, 5])
        #expect(index.search("zebra lion", topK: 10).map(\.document) == [1, 4, 0, 2, 3, 5])
    }

    @Test func topKScanHandlesLongCorpora() throws {
        // 100 passages cross the 16-wide blocks of the scan; the best are spread out.
        let texts = (0..<100).map { i in i % 7 == 3 ? "needle needle hay" : i % 5 == 0 ? "needle hay hay" : "hay" }
        let hits = try Self.index(texts).search("needle", topK: 5)
        #expect(hits.map(\.document) == [3, 10, 17, 24, 31])
        #expect(
            try Self.index(texts).search(["needle", "hay", "needle"], topK: 5, threads: 2) == [
                hits, try Self.index(texts).search("hay", topK: 5), hits,
            ])
    }

    @Test func saveAndReloadGiveIdenticalResults() throws {
        let index = try Self.index(Self.tiny + ["Ünïcode café straße", "banana split 1999"])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bm25-\(UUID()).idx")
        defer { try? FileManager.default.removeItem(at: url) }
        try index.write(to: url)
        let loaded = try BM25Index(contentsOf: url)
        #expect(loaded.documentCount == index.documentCount && loaded.termCount == index.termCount)
        for query in ["apple", "banana cherry", "CAFÉ", "1999 durian eye", "nothing"] {
            #expect(loaded.search(query, topK: 3) == index.search(query, topK: 3))
        }
        #expect(loaded.passage(4) == Passage(id: "d4", title: "", text: "Ünïcode café straße"))
        // Writing the loaded index again reproduces the file byte for byte.
        let again = url.appendingPathExtension("2")
        defer { try? FileManager.default.removeItem(at: again) }
        try loaded.write(to: again)
        #expect(try Data(contentsOf: again) == Data(contentsOf: url))
    }

    @Test func damagedFilesAreRejectedWithAReason() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bm25-\(UUID()).idx")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.index(Self.tiny).write(to: url)
        let good = try Data(contentsOf: url)
        func reason(_ bytes: Data) -> String {
            do {
                try bytes.write(to: url)
                _ = try BM25Index(contentsOf: url)
                return "opened"
            } catch {
                return "\(error)"
            }
        }
        var flipped = good
        flipped[good.count - 20] ^= 0x40
        var badVersion = good
        badVersion[8] = 9
        var moreDocuments = good
        moreDocuments[32] += 1
        #expect(reason(good) == "opened")
        #expect(reason(Data()).contains("too short"))
        #expect(reason(good.prefix(50)).contains("too short"))
        #expect(reason(good.dropLast(8)).contains("truncated"))
        #expect(reason(good + Data(count: 8)).contains("truncated or corrupted"))
        #expect(reason(flipped).contains("checksum"))
        #expect(reason(Data("not an index".utf8) + good).contains("magic"))
        #expect(reason(badVersion).contains("version 9"))
        #expect(reason(moreDocuments).contains("header describes"))
        #expect(reason(good.prefix(100)).contains("BM25 index"))
    }

    @Test func corpusLinesParseAndBadLinesNameTheirNumber() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        func passages(_ text: String) throws -> [Passage] {
            try Data(text.utf8).write(to: url)
            var result: [Passage] = []
            try JSONLCorpus.forEachPassage(in: url) { passage, _ in result.append(passage) }
            return result
        }
        let good = try passages("{\"id\": 7, \"title\": \"Seven\", \"text\": \"a \\\"quoted\\\" é\"}\n\n{\"id\": \"x\", \"text\": \"t\"}")
        #expect(good == [Passage(id: "7", title: "Seven", text: "a \"quoted\" é"), Passage(id: "x", title: "", text: "t")])
        #expect(throws: BM25Error.self) {
            try passages("{\"id\": 1, \"text\": \"ok\"}\n{\"id\": 2, \"text\": \"ok\"}\n{\"id\": 3, \"text\": ")
        }
        for (text, line, words) in [
            ("{\"id\": 1, \"text\": \"ok\"}\n\n{\"id\": 3 \"text\": \"x\"}\n", 3, "invalid JSON"),
            ("{\"id\": 1, \"title\": \"no text\"}", 1, "missing \"text\""),
            ("{\"id\": 1, \"text\": \"ok\"}\n{\"id\": [1], \"text\": \"x\"}", 2, "\"id\""),
        ] {
            do {
                _ = try passages(text)
                Issue.record("\(text) parsed")
            } catch let BM25Error.badCorpusLine(path, number, reason) {
                #expect(path == url.path && number == line, "\(reason)")
                #expect(reason.contains(words), "\(reason)")
            }
        }
    }

    @Test func analyzerLowercasesSplitsAndDropsStopWords() {
        let analyzer = BM25Analyzer()
        // Each expectation is what bm25s.tokenize(lower=True, token_pattern=r"(?u)[^\W_]+", stopwords="en") returns.
        #expect(analyzer.terms("Hello, WORLD! Don't stop_me now") == ["hello", "world", "don", "t", "stop", "me", "now"])
        #expect(analyzer.terms("Ünïcode ÇAFÉ straße İstanbul ΣΟΦΙΑ") == ["ünïcode", "çafé", "straße", "i", "stanbul", "σοφια"])
        #expect(analyzer.terms("naïve_café-au-lait 3.14 x² 東京タワー") == ["naïve", "café", "au", "lait", "3", "14", "x²", "東京タワー"])
        #expect(analyzer.terms("The cat is on the mat, and it was not there") == ["cat", "mat"])
        #expect(BM25Analyzer.englishStopWords.count == 33)
        #expect(BM25Analyzer(stopWords: []).terms("The End") == ["the", "end"])
    }

    @Test func engineRendersPassagesWithTitles() async throws {
        var builder = BM25Builder()
        builder.add(Passage(id: "1", title: "Paris", text: "Paris is the capital of France."))
        builder.add(Passage(id: "2", title: "Lyon", text: "Lyon is a city in France."))
        let engine = BM25Engine(index: try builder.build(), topK: 2)
        let results = await engine.search([SearchRequest(query: "capital of France"), SearchRequest(query: "Berlin")])
        #expect(results[0].text == "Doc 1: (Title: Paris) Paris is the capital of France.\nDoc 2: (Title: Lyon) Lyon is a city in France.")
        #expect(results[1].failed)
    }
}
