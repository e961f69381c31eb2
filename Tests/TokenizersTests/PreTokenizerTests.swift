import Testing
import Tokenizers

/// The hand-written splitters against pieces from Hugging Face's
/// `pre_tokenizers.Split(Regex(pattern), behavior="isolated")` (Oniguruma).
@Suite struct PreTokenizerTests {
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static var byteLevel: [String: Any] { ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true] }
    static let gpt2 = tokenizer(byteLevel)
    static let llama3 = tokenizer(split(llama3Regex))
    static let qwen2 = tokenizer(split(qwen2Regex))

    /// Split with `regex`, as Llama-3 and Qwen2 files write it.
    static func split(_ regex: String) -> [String: Any] {
        [
            "type": "Sequence",
            "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false],
            ],
        ]
    }

    static func tokenizer(_ preTokenizer: [String: Any]) -> BPETokenizer {
        try! BPETokenizer(tokenizerJSON: byteTokenizerJSON(preTokenizer: preTokenizer))
    }

    @Test func gpt2() {
        let cases: [(String, [String])] = [
            ("Hello world", ["Hello", " world"]),
            ("  two  spaces  ", [" ", " two", " ", " spaces", "  "]),
            ("I'm HE'LL 'sx", ["I", "'m", " HE", "'", "LL", " '", "sx"]),
            ("x 12345 y", ["x", " 12345", " y"]),
            ("(abc) [d]", ["(", "abc", ")", " [", "d", "]"]),
            ("a\n\n  b", ["a", "\n\n ", " b"]),
            ("tab\tword \t x", ["tab", "\t", "word", " \t", " x"]),
            ("end  ", ["end", "  "]),
            ("a \r\n b", ["a", " \r\n", " b"]),
            ("!!!\n\nx", ["!!!", "\n", "\n", "x"]),
            ("e\u{301}t\u{e9}", ["e", "\u{301}", "t\u{e9}"]),
            ("naïve 中文 😀👍🏽", ["naïve", " 中文", " 😀👍🏽"]),
            ("\u{3000}x\u{a0}y", ["\u{3000}", "x", "\u{a0}", "y"]),
            ("'ſ 'S", ["'", "ſ", " '", "S"]),
            ("a\u{2028}\u{2028}b", ["a", "\u{2028}", "\u{2028}", "b"]),
            ("", []),
        ]
        for (text, expected) in cases { #expect(Self.gpt2.preTokenize(text) == expected, "\(text.debugDescription)") }
    }

    @Test func llama3AndQwen2() {
        // Where the two differ (digits), Qwen2's pieces are second.
        let cases: [(String, [String], [String]?)] = [
            ("Hello world", ["Hello", " world"], nil),
            ("  two  spaces  ", [" ", " two", " ", " spaces", "  "], nil),
            ("I'm HE'LL 'sx", ["I", "'m", " HE", "'LL", " '", "sx"], nil),
            ("x 12345 y", ["x", " ", "123", "45", " y"], ["x", " ", "1", "2", "3", "4", "5", " y"]),
            ("(abc) [d]", ["(abc", ")", " [", "d", "]"], nil),
            ("a\n\n  b", ["a", "\n\n", " ", " b"], nil),
            ("tab\tword \t x", ["tab", "\tword", " \t", " x"], nil),
            ("end  ", ["end", "  "], nil),
            ("a \r\n b", ["a", " \r\n", " b"], nil),
            ("!!!\n\nx", ["!!!\n\n", "x"], nil),
            ("e\u{301}t\u{e9}", ["e", "\u{301}t\u{e9}"], nil),
            ("naïve 中文 😀👍🏽", ["naïve", " 中文", " 😀👍🏽"], nil),
            ("\u{3000}x\u{a0}y", ["\u{3000}x", "\u{a0}y"], nil),
            ("'ſ 'S", ["'ſ", " '", "S"], nil),
            ("a\u{2028}\u{2028}b", ["a", "\u{2028}", "\u{2028}b"], nil),
            ("...\r\n", ["...\r\n"], nil),
        ]
        for (text, llama3, qwen2) in cases {
            #expect(Self.llama3.preTokenize(text) == llama3, "\(text.debugDescription)")
            #expect(Self.qwen2.preTokenize(text) == qwen2 ?? llama3, "\(text.debugDescription)")
        }
    }

    /// SmolLM: each digit (any N* scalar) alone, then the GPT-2 pattern.
    @Test func digitsBeforeGPT2() {
        let smolLM = Self.tokenizer([
            "type": "Sequence",
            "pretokenizers": [
                ["type": "Digits", "individual_digits": true], Self.byteLevel,
            ],
        ])
        #expect(smolLM.preTokenize("x 12345 y") == ["x", " ", "1", "2", "3", "4", "5", " y"])
        #expect(smolLM.preTokenize("a1b22") == ["a", "1", "b", "2", "2"])
        #expect(smolLM.preTokenize(" ½ ٣x") == [" ", "½", " ", "٣", "x"])
        let runs = Self.tokenizer([
            "type": "Sequence",
            "pretokenizers": [
                ["type": "Digits", "individual_digits": false], Self.byteLevel,
            ],
        ])
        #expect(runs.preTokenize("a1b22") == ["a", "1", "b", "22"])
    }

    @Test func prefixSpace() {
        let prefixed = Self.tokenizer(["type": "ByteLevel", "add_prefix_space": true, "use_regex": true])
        #expect(prefixed.preTokenize("Hello world") == [" Hello", " world"])
        #expect(prefixed.preTokenize(" Hello") == [" Hello"])
        #expect(prefixed.preTokenize("") == [])
    }
}
