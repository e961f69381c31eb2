import Foundation
import Testing
import Tokenizers

/// Every fixture string encodes to the ids Hugging Face produces, with and
/// without special tokens, and decodes to Hugging Face's text.
@Suite struct GoldenTests {
    static let tokenizers = ["qwen", "smollm2", "synthetic_llama3", "synthetic_gpt2", "synthetic_digits"]

    func load(_ name: String) throws -> BPETokenizer {
        switch name {
        case "qwen": try TestData.qwen()
        case "smollm2": try TestData.smolLM2()
        default: try TestData.synthetic(String(name.dropFirst("synthetic_".count)))
        }
    }

    @Test(arguments: tokenizers)
    func encodesLikeHuggingFace(name: String) throws {
        try Golden.load(name).expectEncodings(of: try load(name))
    }

    @Test(arguments: tokenizers)
    func decodesLikeHuggingFace(name: String) throws {
        let tokenizer = try load(name)
        let golden = try Golden.load(name)
        for example in golden.cases {
            #expect(tokenizer.decode(example.ids_with_special) == example.decoded, "\(example.text.debugDescription)")
            #expect(
                tokenizer.decode(example.ids_with_special, skipSpecialTokens: true)
                    == example.decoded_skipping_special, "\(example.text.debugDescription)")
        }
        // Single ids and slices that cut characters apart: U+FFFD where HF has it.
        for example in golden.decode_cases {
            #expect(tokenizer.decode(example.ids) == example.decoded, "\(example.ids)")
            #expect(
                tokenizer.decode(example.ids, skipSpecialTokens: true) == example.decoded_skipping_special,
                "\(example.ids)")
        }
    }

    /// Without a prefix space or stripping added tokens, decoding gives back the
    /// text, in NFC where the tokenizer normalizes.
    @Test(arguments: ["qwen", "smollm2", "synthetic_llama3", "synthetic_digits"])
    func roundTrips(name: String) throws {
        let tokenizer = try load(name)
        let golden = try Golden.load(name)
        for example in golden.cases {
            let expected = name == "qwen" ? String(decoding: example.text._nfcCodeUnits, as: UTF8.self) : example.text
            #expect(
                tokenizer.decode(tokenizer.encode(example.text, addSpecialTokens: false)) == expected,
                "\(example.text.debugDescription)")
        }
    }

    @Test(arguments: tokenizers)
    func vocabularyMatches(name: String) throws {
        let tokenizer = try load(name)
        let golden = try Golden.load(name)
        #expect(tokenizer.vocabularySize == golden.vocab_size)
        #expect(tokenizer.eosTokenID == golden.eos_id)
        #expect(tokenizer.bosTokenID == golden.bos_id)
        for (token, id) in golden.token_ids {
            #expect(tokenizer.id(for: token) == id, "\(token)")
            if let id { #expect(tokenizer.token(for: id) == token) }
        }
        if let prefix = golden.chat_template_prefix {
            #expect(tokenizer.chatTemplateSource?.hasPrefix(prefix) == true)
        }
    }
}
