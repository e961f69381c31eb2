import Foundation
import Testing
import Tokenizers

/// GPT-2's byte-to-character mapping, which vocabularies are written in:
/// printable Latin-1 bytes stand for themselves, the others for U+0100 onwards.
let characterForByte: [Character] = {
    var next = 256
    return (0...255).map { byte in
        if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
            return Character(Unicode.Scalar(UInt8(byte)))
        }
        defer { next += 1 }
        return Character(Unicode.Scalar(UInt32(next))!)
    }
}()

/// A tokenizer.json with one token per byte (ids 0-255, in byte order), for
/// tests that need exact control over the file.
func byteTokenizerJSON(
    merges: [String] = [], extraVocabulary: [String: Int] = [:],
    addedTokens: [[String: Any]] = [], preTokenizer: [String: Any]? = nil
) -> Data {
    var vocabulary: [String: Any] = [:]
    for byte in 0...255 { vocabulary[String(characterForByte[byte])] = byte }
    vocabulary.merge(extraVocabulary) { $1 }
    let file: [String: Any] = [
        "model": ["type": "BPE", "vocab": vocabulary, "merges": merges],
        "added_tokens": addedTokens,
        "pre_tokenizer": preTokenizer ?? ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
        "decoder": ["type": "ByteLevel"],
    ]
    return try! JSONSerialization.data(withJSONObject: file)
}

/// Added tokens are cut out of the text before anything else sees it.
@Suite struct AddedTokenTests {
    @Test func specialTokensInsideText() throws {
        let qwen = try TestData.qwen()
        let start = try #require(qwen.id(for: "<|im_start|>"))
        let end = try #require(qwen.id(for: "<|im_end|>"))
        let think = try #require(qwen.id(for: "<think>"))
        let ids = qwen.encode("<|im_start|>user\nhi<|im_end|>")
        #expect(ids == [start] + qwen.encode("user\nhi") + [end])
        #expect(qwen.decode(ids, skipSpecialTokens: true) == "user\nhi")
        // `<think>` is an added token but not a special one: skipping keeps it.
        let thought = qwen.encode("<think>\nok</think>")
        #expect(thought.first == think)
        #expect(qwen.decode(thought, skipSpecialTokens: true) == "<think>\nok</think>")
        #expect(qwen.specialTokenIDs.contains(end) && !qwen.specialTokenIDs.contains(think))
        // An unfinished special token is ordinary text.
        #expect(!qwen.encode("<|im_start").contains(start))
    }

    @Test func leftmostThenLongestMatchWins() throws {
        let added: [[String: Any]] = [
            ["id": 256, "content": "<a>", "special": true],
            ["id": 257, "content": "<a><b>", "special": true],
            ["id": 258, "content": "a>b>", "special": false],
        ]
        let tokenizer = try BPETokenizer(tokenizerJSON: byteTokenizerJSON(addedTokens: added))
        func byte(_ character: Character) -> Int32 { Int32(character.asciiValue!) }
        #expect(tokenizer.encode("x<a><b>y<a>") == [byte("x"), 257, byte("y"), 256])
        #expect(tokenizer.encode("<a>b>") == [256, byte("b"), byte(">")])
        #expect(tokenizer.decode([256, 258, 257], skipSpecialTokens: true) == "a>b>")
    }

    @Test func gpt2StyleOptions() throws {
        // lstrip/rstrip take the whitespace, single_word needs no letter or digit
        // around the match, a normalized token matches its NFC form: golden
        // cases check the ids, these the visible effects.
        let tokenizer = try TestData.synthetic("gpt2")
        let mask = try #require(tokenizer.id(for: "[MASK]"))
        let hello = try #require(tokenizer.id(for: "hello"))
        let cafe = try #require(tokenizer.id(for: "café"))
        #expect(tokenizer.encode("a [MASK] b", addSpecialTokens: false).contains(mask))
        #expect(tokenizer.decode(tokenizer.encode("a [MASK] b", addSpecialTokens: false)) == " a[MASK] b")
        #expect(tokenizer.encode("(hello)", addSpecialTokens: false).contains(hello))
        #expect(!tokenizer.encode("hellox", addSpecialTokens: false).contains(hello))
        #expect(tokenizer.encode("cafe\u{301}", addSpecialTokens: false) == [cafe])
    }
}
