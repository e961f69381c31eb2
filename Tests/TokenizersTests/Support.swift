import Engine
import Foundation
import Testing
import Tokenizers

/// The large tokenizer files the tests need but the repository does not carry;
/// `scripts/setup-test-data.sh` puts them here.
enum TestData {
    static var directory: URL {
        let cache =
            ProcessInfo.processInfo.environment["ZEROSEARCH_CACHE"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/zerosearch").path
        return URL(fileURLWithPath: cache).appendingPathComponent("test-data")
    }

    static func file(_ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TokenizerError(
                "test data \(url.path) is missing: run scripts/setup-test-data.sh "
                    + "(set ZEROSEARCH_CACHE to use another cache folder)")
        }
        return url
    }

    /// Loaded once: tests run in parallel and the Qwen vocabulary takes most of a second.
    private static let qwenResult = Result { try BPETokenizer(huggingFaceFolder: try file("qwen")) }
    private static let smolLM2MetadataResult = Result {
        try GGUFFile(contentsOf: try file("SmolLM2-135M-Instruct.Q4_1.gguf")).metadata
    }
    private static let smolLM2Result = Result { try BPETokenizer(ggufMetadata: try smolLM2Metadata()) }

    static func qwen() throws -> BPETokenizer { try qwenResult.get() }
    static func smolLM2() throws -> BPETokenizer { try smolLM2Result.get() }
    static func smolLM2Metadata() throws -> [String: GGUFValue] { try smolLM2MetadataResult.get() }

    static func fixture(_ name: String) throws -> URL {
        try #require(
            Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
            "fixture \(name) is missing")
    }

    static func synthetic(_ name: String) throws -> BPETokenizer {
        try BPETokenizer(tokenizerJSON: try fixture("synthetic_\(name).tokenizer.json"))
    }
}

/// A `*_golden.json` written by scripts/fixtures/make_tokenizer_golden.py.
struct Golden: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int32]
        let ids_with_special: [Int32]
        let decoded: String
        let decoded_skipping_special: String
    }

    struct DecodeCase: Decodable {
        let ids: [Int32]
        let decoded: String
        let decoded_skipping_special: String
    }

    let vocab_size: Int
    let bos_id: Int32?
    let eos_id: Int32?
    let chat_template_prefix: String?
    let token_ids: [String: Int32?]
    let cases: [Case]
    let decode_cases: [DecodeCase]

    static func load(_ name: String) throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: try TestData.fixture("\(name)_golden.json")))
    }

    /// Every case encodes to Hugging Face's ids, with and without special tokens.
    func expectEncodings(of tokenizer: some Tokenizer, sourceLocation: SourceLocation = #_sourceLocation) {
        for example in cases {
            #expect(
                tokenizer.encode(example.text, addSpecialTokens: false) == example.ids,
                "\(example.text.debugDescription)", sourceLocation: sourceLocation)
            #expect(
                tokenizer.encode(example.text, addSpecialTokens: true) == example.ids_with_special,
                "\(example.text.debugDescription)", sourceLocation: sourceLocation)
        }
    }
}

/// The message of the error `body` throws, or "no error".
func errorMessage(_ body: () throws -> Any) -> String {
    do {
        _ = try body()
        return "no error"
    } catch {
        return "\(error)"
    }
}
