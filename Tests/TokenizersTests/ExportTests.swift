import Engine
import Foundation
import Testing
import Tokenizers

/// A GGUF tokenizer written out as tokenizer.json and tokenizer_config.json,
/// then loaded back from them, is the tokenizer it was written from.
@Suite struct ExportTests {
    func exported(_ metadata: [String: GGUFValue]) throws -> BPETokenizer {
        let files = try BPETokenizer.huggingFaceFiles(ggufMetadata: metadata)
        let json = try #require(files["tokenizer.json"])
        let config = try #require(files["tokenizer_config.json"])
        return try BPETokenizer(tokenizerJSON: json, tokenizerConfig: config)
    }

    @Test func smolLM2() throws {
        let metadata = try TestData.smolLM2Metadata()
        let tokenizer = try exported(metadata)
        let golden = try Golden.load("smollm2")
        golden.expectEncodings(of: tokenizer)
        #expect(tokenizer.bosTokenID == golden.bos_id && tokenizer.eosTokenID == golden.eos_id)
        #expect(tokenizer.chatTemplateSource != nil)
        #expect(tokenizer.chatTemplateSource == metadata["tokenizer.chat_template"]?.string)
    }

    /// The synthetic Llama-3 tokenizer is what llama.cpp calls "llama-bpe", so
    /// its export must encode as Hugging Face does.
    @Test func llama3() throws {
        let tokenizer = try exported(try Self.syntheticLlama3(pre: "llama-bpe"))
        try Golden.load("synthetic_llama3").expectEncodings(of: tokenizer)
        #expect(tokenizer.bosTokenID == 0 && tokenizer.eosTokenID == 1)
        #expect(tokenizer.chatTemplateSource == Self.chatTemplate)
    }

    /// Every pre-tokenizer name, over the same vocabulary and with EOS added
    /// too: the exported tokenizer splits and encodes text as the GGUF one does.
    @Test(arguments: ["gpt2", "llama-bpe", "qwen2", "smollm"])
    func matchesGGUFLoader(pre: String) throws {
        var metadata = try Self.syntheticLlama3(pre: pre)
        metadata["tokenizer.ggml.add_eos_token"] = .bool(true)
        let gguf = try BPETokenizer(ggufMetadata: metadata)
        let tokenizer = try exported(metadata)
        for example in try Golden.load("synthetic_llama3").cases {
            #expect(tokenizer.preTokenize(example.text) == gguf.preTokenize(example.text), "\(example.text.debugDescription)")
            #expect(tokenizer.encode(example.text) == gguf.encode(example.text), "\(example.text.debugDescription)")
        }
    }

    static let chatTemplate = "{% for message in messages %}{{ message['content'] }}{% endfor %}"

    /// The synthetic Llama-3 tokenizer.json as llama.cpp's converter writes it
    /// into GGUF metadata: added tokens become control (3) or user-defined (4)
    /// tokens, merges "a b" strings.
    static func syntheticLlama3(pre: String) throws -> [String: GGUFValue] {
        struct File: Decodable {
            struct Model: Decodable {
                let vocab: [String: Int]
                let merges: [[String]]
            }
            struct Added: Decodable {
                let id: Int
                let content: String
                let special: Bool
            }
            let model: Model
            let added_tokens: [Added]
        }
        let file = try JSONDecoder().decode(
            File.self, from: Data(contentsOf: try TestData.fixture("synthetic_llama3.tokenizer.json")))
        var entries: [Int: (token: String, type: Int64)] = [:]
        for (token, id) in file.model.vocab { entries[id] = (token, 1) }
        for added in file.added_tokens { entries[added.id] = (added.content, added.special ? 3 : 4) }
        let ordered = try (0..<entries.count).map { try #require(entries[$0], "no token has id \($0)") }
        return [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string(pre),
            "tokenizer.ggml.tokens": .array(ordered.map { .string($0.token) }),
            "tokenizer.ggml.token_type": .array(ordered.map { .int($0.type) }),
            "tokenizer.ggml.merges": .array(file.model.merges.map { .string($0.joined(separator: " ")) }),
            "tokenizer.ggml.bos_token_id": .uint(0),
            "tokenizer.ggml.eos_token_id": .uint(1),
            "tokenizer.ggml.add_bos_token": .bool(true),
            "tokenizer.chat_template": .string(chatTemplate),
        ]
    }
}
