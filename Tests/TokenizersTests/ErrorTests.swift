import Engine
import Foundation
import Testing
import Tokenizers

/// Broken or unsupported tokenizer files are refused with a message that names
/// the part at fault; nothing traps.
@Suite struct ErrorTests {
    func jsonError(_ data: Data) -> String { errorMessage { try BPETokenizer(tokenizerJSON: data) } }

    func jsonError(editing edit: (inout [String: Any]) -> Void) -> String {
        var file = try! JSONSerialization.jsonObject(with: byteTokenizerJSON()) as! [String: Any]
        edit(&file)
        return jsonError(try! JSONSerialization.data(withJSONObject: file))
    }

    @Test func malformedJSON() throws {
        let data = try Data(contentsOf: try TestData.fixture("synthetic_gpt2.tokenizer.json"))
        #expect(jsonError(data.prefix(data.count / 2)).hasPrefix("tokenizer.json: invalid JSON at line 1, column "))
        #expect(jsonError(Data()) == "tokenizer.json: invalid JSON at line 1, column 1: unexpected end of data")
        #expect(
            jsonError(Data("{\"model\": {\n  \"vocab\": {\"a\": 1,}}}".utf8))
                == "tokenizer.json: invalid JSON at line 2, column 20: expected a string key")
        #expect(jsonError(Data("{\"a\": \"\\ud800\"}".utf8)).hasSuffix("unpaired surrogate escape"))
        #expect(jsonError(Data(String(repeating: "[", count: 100_000).utf8)).hasSuffix("nested deeper than 256 levels"))
        #expect(jsonError(Data("[1, 2]".utf8)) == "tokenizer.json: expected an object")
        #expect(jsonError(Data("{}".utf8)) == "tokenizer.json: missing field \"model\"")
        #expect(
            jsonError(editing: { $0["model"] = ["type": "BPE", "vocab": ["a": "zero"], "merges": []] })
                == "tokenizer.json: model.vocab.a: expected an integer token id")
        #expect(
            jsonError(editing: { $0["model"] = ["type": "BPE", "vocab": ["a": true], "merges": []] })
                == "tokenizer.json: model.vocab.a: expected an integer token id")
        #expect(
            jsonError(editing: { $0["model"] = ["type": "BPE", "vocab": ["a": 0]] })
                == "tokenizer.json: model: missing field \"merges\"")
        #expect(
            jsonError(editing: { $0["added_tokens"] = [["id": 1]] })
                == "tokenizer.json: added_tokens[0]: missing field \"content\"")
        #expect(
            jsonError(editing: { $0["added_tokens"] = [["id": 1, "content": "<x>", "special": "yes"]] })
                == "tokenizer.json: added_tokens[0].special: expected true or false")
    }

    @Test func inconsistentVocabularies() throws {
        #expect(
            jsonError(byteTokenizerJSON(merges: ["a zz"]))
                == #"tokenizer.json: merge 0 ("a" "zz") uses "zz", which is not in the vocabulary"#)
        #expect(
            jsonError(byteTokenizerJSON(merges: ["a b"]))
                == #"tokenizer.json: merge 0 ("a" "b") makes "ab", which is not in the vocabulary"#)
        #expect(
            jsonError(byteTokenizerJSON(merges: ["a b c"]))
                == #"tokenizer.json: model.merges[0]: expected two tokens, as "a b" or ["a", "b"]"#)
        #expect(
            jsonError(byteTokenizerJSON(extraVocabulary: ["ab": 97]))
                .contains("share id 97"))
        #expect(
            jsonError(byteTokenizerJSON(addedTokens: [["id": 97, "content": "<x>"]]))
                == #"tokenizer.json: added token "<x>" has id 97, which the vocabulary gives to "a""#)
        #expect(jsonError(byteTokenizerJSON(extraVocabulary: ["ab": -5])) == #"tokenizer.json: token "ab" has negative id -5"#)
    }

    @Test func unsupportedFeatures() {
        #expect(
            jsonError(
                byteTokenizerJSON(preTokenizer: [
                    "type": "Split", "pattern": ["Regex": #"\d+"#],
                    "behavior": "Isolated", "invert": false,
                ]))
                == #"tokenizer.json: pre_tokenizer: split regex "\\d+" is not one of the supported GPT-2, Llama-3 and Qwen2 patterns"#)
        #expect(
            jsonError(byteTokenizerJSON(preTokenizer: ["type": "Sequence", "pretokenizers": [["type": "Whitespace"]]]))
                == #"tokenizer.json: pre_tokenizer.pretokenizers[0]: pre-tokenizer "Whitespace" is not supported"#)
        #expect(
            jsonError(byteTokenizerJSON(preTokenizer: ["type": "Digits", "individual_digits": true]))
                == "tokenizer.json: pre_tokenizer: byte-level BPE needs a ByteLevel pre-tokenizer")
        #expect(
            jsonError(editing: { $0["model"] = ["type": "WordPiece", "vocab": [:], "merges": []] })
                == #"tokenizer.json: model type "WordPiece" (only BPE) is not supported"#)
        #expect(
            jsonError(editing: { $0["normalizer"] = ["type": "Lowercase"] })
                == #"tokenizer.json: normalizer "Lowercase" is not supported"#)
        #expect(
            jsonError(editing: { $0["decoder"] = ["type": "WordPiece"] })
                == "tokenizer.json: decoder: only the ByteLevel decoder is supported")
        #expect(
            jsonError(editing: { $0["post_processor"] = ["type": "RobertaProcessing"] })
                == #"tokenizer.json: post_processor: post-processor "RobertaProcessing" is not supported"#)
    }

    @Test func missingFiles() {
        let nowhere = URL(fileURLWithPath: "/nonexistent/tokenizer")
        #expect(
            errorMessage { try BPETokenizer(huggingFaceFolder: nowhere) }
                .hasPrefix("cannot read /nonexistent/tokenizer/tokenizer.json"))
    }

    /// GGUF metadata as llama.cpp writes it: three bytes and one merge.
    func ggufMetadata() -> [String: GGUFValue] {
        [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("qwen2"),
            "tokenizer.ggml.tokens": .array(["a", "b", "ab", "<|end|>"].map { .string($0) }),
            "tokenizer.ggml.token_type": .array([1, 1, 1, 3].map { .int($0) }),
            "tokenizer.ggml.merges": .array([.string("a b")]),
            "tokenizer.ggml.eos_token_id": .uint(3),
        ]
    }

    func ggufError(_ edit: (inout [String: GGUFValue]) -> Void) -> String {
        var metadata = ggufMetadata()
        edit(&metadata)
        return errorMessage { try BPETokenizer(ggufMetadata: metadata) }
    }

    @Test func ggufMetadataIsChecked() throws {
        let tokenizer = try BPETokenizer(ggufMetadata: ggufMetadata())
        #expect(tokenizer.encode("ab<|end|>ba") == [2, 3, 1, 0])
        #expect(tokenizer.eosTokenID == 3 && tokenizer.specialTokenIDs == [3])
        #expect(ggufError { $0["tokenizer.ggml.tokens"] = nil } == "GGUF: missing tokenizer.ggml.tokens")
        #expect(ggufError { $0["tokenizer.ggml.tokens"] = .string("a") } == "GGUF: tokenizer.ggml.tokens is not an array")
        #expect(
            ggufError { $0["tokenizer.ggml.tokens"] = .array([.string("a"), .int(1)]) }
                == "GGUF: tokenizer.ggml.tokens[1] is not a string")
        #expect(
            ggufError { $0["tokenizer.ggml.model"] = .string("llama") }
                == #"GGUF: tokenizer.ggml.model "llama" is not supported (only "gpt2", byte-level BPE)"#)
        #expect(ggufError { $0["tokenizer.ggml.model"] = nil } == "GGUF: missing tokenizer.ggml.model")
        #expect(
            ggufError { $0["tokenizer.ggml.pre"] = .string("deepseek-llm") }
                .hasPrefix(#"GGUF: tokenizer.ggml.pre "deepseek-llm" is not supported (supported: gpt2, llama-bpe"#))
        #expect(
            ggufError { $0["tokenizer.ggml.token_type"] = .array([.int(1)]) }
                == "GGUF: tokenizer.ggml.token_type is not 4 integers, one per token")
        #expect(
            ggufError { $0["tokenizer.ggml.merges"] = .array([.string("a c")]) }
                == #"GGUF: merge 0 ("a" "c") uses "c", which is not in the vocabulary"#)
        #expect(
            ggufError { $0["tokenizer.ggml.merges"] = .array([.string("ab")]) }
                == #"GGUF: tokenizer.ggml.merges[0] "ab" is not two tokens separated by one space"#)
        #expect(
            ggufError { $0["tokenizer.ggml.eos_token_id"] = .uint(9) }
                == "GGUF: tokenizer.ggml.eos_token_id is not a token id below 4")
    }
}
