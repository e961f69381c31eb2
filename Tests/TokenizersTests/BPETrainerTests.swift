import Foundation
import Testing
import Tokenizers

/// The trainer on a small corpus of ZeroSearch-style dialogues, against the
/// merges and ids that scripts/fixtures/make_bpe_trainer_golden.py recorded
/// from Hugging Face `tokenizers` (whose own BpeTrainer learns the same merges).
@Suite struct BPETrainerTests {
    static let specialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    static let addedTokens = [
        "<search>", "</search>", "<answer>", "</answer>", "<information>", "</information>",
        "<think>", "</think>",
    ]

    struct GoldenFile: Decodable {
        struct Case: Decodable {
            let text: String
            let ids: [Int32]
        }
        let vocab_size: Int
        let merges: [[String]]
        let cases: [Case]
    }

    static func corpus() throws -> [String] {
        struct Line: Decodable { let text: String }
        let data = try Data(contentsOf: try TestData.fixture("bpe_trainer_corpus.jsonl"))
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Line.self, from: $0).text }
    }

    static func trainer(vocabularySize: Int = 600, minimumPairFrequency: Int = 2) -> BPETrainer {
        BPETrainer(
            vocabularySize: vocabularySize, minimumPairFrequency: minimumPairFrequency,
            specialTokens: specialTokens, addedTokens: addedTokens, eosToken: "<|im_end|>")
    }

    /// Trained once: several tests look at the same result.
    private static let trainedResult = Result { try trainer().train(try corpus()) }
    static func trained() throws -> TrainedTokenizer { try trainedResult.get() }

    @Test func matchesHuggingFace() throws {
        let golden = try JSONDecoder().decode(
            GoldenFile.self, from: Data(contentsOf: try TestData.fixture("bpe_trainer_golden.json")))
        let trained = try Self.trained()
        #expect(trained.merges.map { [$0.left, $0.right] } == golden.merges)
        #expect(trained.tokenizer.vocabularySize == golden.vocab_size)
        let files = try trained.huggingFaceFiles()
        let reloaded = try BPETokenizer(
            tokenizerJSON: try #require(files["tokenizer.json"]),
            tokenizerConfig: files["tokenizer_config.json"])
        #expect(reloaded.eosTokenID == trained.tokenizer.id(for: "<|im_end|>"))
        for example in golden.cases {
            #expect(trained.tokenizer.encode(example.text, addSpecialTokens: false) == example.ids, "\(example.text.debugDescription)")
            #expect(reloaded.encode(example.text, addSpecialTokens: false) == example.ids, "\(example.text.debugDescription)")
        }
    }

    /// Each pre-tokenizer survives the export: the tokenizer loaded back from
    /// the files splits and encodes as the trained one.
    @Test(arguments: BPETrainer.Splitting.allCases)
    func exportKeepsSplitting(_ splitting: BPETrainer.Splitting) throws {
        var trainer = Self.trainer(vocabularySize: 400)
        trainer.splitting = splitting
        let trained = try trainer.train(try Self.corpus())
        let files = try trained.huggingFaceFiles()
        let reloaded = try BPETokenizer(tokenizerJSON: try #require(files["tokenizer.json"]))
        for text in try Self.corpus() + ["12345 abc\n\n  x", "Don'T 3.14"] {
            #expect(reloaded.preTokenize(text) == trained.tokenizer.preTokenize(text), "\(text.debugDescription)")
            #expect(reloaded.encode(text) == trained.tokenizer.encode(text), "\(text.debugDescription)")
        }
    }

    /// The merges depend on the counts alone, not on the order of the texts.
    @Test func deterministic() throws {
        var generator = SplitMix(seed: 6)
        let shuffled = try Self.trainer().train(try Self.corpus().shuffled(using: &generator))
        #expect(shuffled.merges.map { [$0.left, $0.right] } == (try Self.trained()).merges.map { [$0.left, $0.right] })
    }

    @Test func roundTrip() throws {
        let tokenizer = try Self.trained().tokenizer
        var generator = SplitMix(seed: 1)
        let pool = Array("aé東🙂👩‍👧 \n\t\r<>/|s0'’\u{0}\u{301}\u{10FFFF}ßЖ".unicodeScalars)
        let random = (0..<200).map { _ in
            String(
                String.UnicodeScalarView(
                    (0..<Int.random(in: 0...24, using: &generator)).map { _ in
                        pool.randomElement(using: &generator)!
                    }))
        }
        for text in try Self.corpus() + random + ["", "🇳🇴🇳🇴", "<search", "<|im_start|<|im_end|>>"] {
            #expect(tokenizer.decode(tokenizer.encode(text, addSpecialTokens: false)) == text, "\(text.debugDescription)")
        }
    }

    @Test func addedTokensStayWhole() throws {
        let trained = try Self.trained()
        let tokenizer = trained.tokenizer
        for (index, content) in (Self.specialTokens + Self.addedTokens).enumerated() {
            #expect(tokenizer.id(for: content) == Int32(index))
            #expect(tokenizer.encode("a\(content)b", addSpecialTokens: false).contains(Int32(index)))
            // Cut out of the corpus before counting, so no merge spells one.
            #expect(!trained.merges.contains { ($0.left + $0.right).contains(content) })
        }
        #expect(tokenizer.specialTokenIDs == [0, 1, 2])
        #expect(tokenizer.decode(tokenizer.encode("<think>x</think><|im_end|>"), skipSpecialTokens: true) == "<think>x</think>")
    }

    @Test func frequentWordsBecomeTokens() throws {
        let tokenizer = try Self.trained().tokenizer
        for word in [" Mirefield", " lives", " search", "assistant"] {
            #expect(tokenizer.encode(word, addSpecialTokens: false).count == 1, "\(word)")
        }
    }

    @Test func vocabularySize() throws {
        #expect(try Self.trained().tokenizer.vocabularySize == 600)
        // Pairs run out long before 5,000 tokens when each must occur twice.
        let small = try Self.trainer(vocabularySize: 5_000).train(try Self.corpus())
        #expect(small.tokenizer.vocabularySize < 5_000)
        #expect(small.tokenizer.vocabularySize == 256 + 11 + Set(small.merges.map { $0.left + $0.right }).count)
        #expect(throws: TokenizerError.self) { try Self.trainer(vocabularySize: 266).train(["abc"]) }
    }

    /// Equal counts go to the pair with the smaller ids. Bytes are numbered in
    /// the order of the characters that spell them, so the space (`Ġ`, U+0120)
    /// comes after `a`, though its byte comes before.
    @Test func tiesBreakBySmallerIDs() throws {
        let trainer = BPETrainer(vocabularySize: 258, minimumPairFrequency: 1)
        #expect(try trainer.train(["cd", "ab"]).merges.map { [$0.left, $0.right] } == [["a", "b"], ["c", "d"]])
        #expect(try trainer.train([" b", "ab"]).merges.map { [$0.left, $0.right] } == [["a", "b"], ["Ġ", "b"]])
    }

    @Test func rejectsBadConfiguration() {
        #expect(throws: TokenizerError.self) { try BPETrainer(vocabularySize: 300, specialTokens: ["x"]).train([]) }
        #expect(throws: TokenizerError.self) { try BPETrainer(vocabularySize: 300, addedTokens: ["<a>", "<a>"]).train([]) }
        #expect(throws: TokenizerError.self) { try BPETrainer(vocabularySize: 300, eosToken: "<a>").train([]) }
        #expect(throws: TokenizerError.self) {
            try BPETrainer(vocabularySize: 300, addedTokens: ["Ġx"]).train([" x x x"])
        }
    }
}

/// A seeded generator, so that random test strings are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
