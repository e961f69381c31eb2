import Engine

extension BPETokenizer {
    /// Reads the byte-level BPE tokenizer that llama.cpp stores in a GGUF file's
    /// metadata (`tokenizer.ggml.*`), as `transformers` converts it.
    public init(ggufMetadata metadata: [String: GGUFValue]) throws {
        try self.init(GGUFVocabulary(metadata: metadata).description)
    }
}

/// The `tokenizer.ggml.*` metadata of a GGUF file, read and checked in one
/// place so that loading it and exporting it as Hugging Face files cannot
/// disagree: control tokens (type 3) become special added tokens, user-defined
/// ones (type 4) plain added ones, and `tokenizer.ggml.pre` picks the
/// pre-tokenizer.
struct GGUFVocabulary {
    /// As the file writes them, indexed by id.
    let tokens: [String]
    /// The tokens in the byte-level alphabet: one written outside it (a raw
    /// "\n", say) is respelled in it, so that BPE over bytes can produce it.
    let spellings: [String]
    /// Ids by spelling.
    let vocabulary: [String: Int32]
    let merges: [(String, String)]
    let addedTokens: [AddedToken]
    let preTokenizer: [PreTokenizer.Step]
    let ignoresMerges: Bool
    let bosTokenID: Int32?
    let eosTokenID: Int32?
    /// Only the export needs it, so an id outside the vocabulary is dropped
    /// rather than failing the load.
    let paddingTokenID: Int32?
    let addsBOS: Bool
    let addsEOS: Bool
    let chatTemplate: String?

    init(metadata: [String: GGUFValue]) throws {
        func fail(_ detail: String) -> TokenizerError { TokenizerError("GGUF: \(detail)") }
        func strings(_ key: String) throws -> [String] {
            guard let value = metadata[key] else { throw fail("missing \(key)") }
            guard let array = value.array else { throw fail("\(key) is not an array") }
            return try array.enumerated().map { index, element in
                guard let string = element.string else { throw fail("\(key)[\(index)] is not a string") }
                return string
            }
        }

        guard let model = metadata["tokenizer.ggml.model"] else { throw fail("missing tokenizer.ggml.model") }
        guard model.string == "gpt2" else {
            throw fail(
                "tokenizer.ggml.model \(model.string.map(quoted) ?? "\(model)") is not supported "
                    + "(only \"gpt2\", byte-level BPE)")
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        let tokenTypes = try metadata["tokenizer.ggml.token_type"].map { value -> [Int] in
            guard let types = value.array?.compactMap(\.int), types.count == tokens.count else {
                throw fail("tokenizer.ggml.token_type is not \(tokens.count) integers, one per token")
            }
            return types
        }
        merges = try strings("tokenizer.ggml.merges").enumerated().map { index, merge -> (String, String) in
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw fail("tokenizer.ggml.merges[\(index)] \(quoted(merge)) is not two tokens separated by one space")
            }
            return (String(parts[0]), String(parts[1]))
        }
        let pre = metadata["tokenizer.ggml.pre"]?.string ?? "gpt2"
        guard let (steps, ignoresMerges) = Self.preTokenizers[pre] else {
            throw fail(
                "tokenizer.ggml.pre \(quoted(pre)) is not supported (supported: "
                    + Self.preTokenizers.keys.sorted().joined(separator: ", ") + ")")
        }

        let spellings = tokens.map { ByteLevel.bytes(spelledBy: $0) != nil ? $0 : ByteLevel.spelling(of: $0.utf8) }
        var vocabulary: [String: Int32] = [:]
        var addedTokens: [AddedToken] = []
        for (index, token) in tokens.enumerated() {
            vocabulary[spellings[index]] = Int32(index)
            // transformers skips control tokens outside the byte alphabet (llama.cpp
            // mislabels some), and so adds no token the model has no row for.
            let type = tokenTypes?[index] ?? 1
            if spellings[index] == token, type == 3 || type == 4 {
                addedTokens.append(AddedToken(content: token, id: Int32(index), special: type == 3))
            }
        }
        func tokenID(_ key: String) throws -> Int32? {
            guard let value = metadata[key] else { return nil }
            guard let id = value.int, tokens.indices.contains(id) else {
                throw fail("\(key) is not a token id below \(tokens.count)")
            }
            return Int32(id)
        }

        self.tokens = tokens
        self.spellings = spellings
        self.vocabulary = vocabulary
        self.addedTokens = addedTokens
        preTokenizer = steps
        self.ignoresMerges = ignoresMerges
        bosTokenID = try tokenID("tokenizer.ggml.bos_token_id")
        eosTokenID = try tokenID("tokenizer.ggml.eos_token_id")
        paddingTokenID = metadata["tokenizer.ggml.padding_token_id"]?.int.flatMap { tokens.indices.contains($0) ? Int32($0) : nil }
        addsBOS = metadata["tokenizer.ggml.add_bos_token"]?.bool == true
        addsEOS = metadata["tokenizer.ggml.add_eos_token"]?.bool == true
        chatTemplate = metadata["tokenizer.chat_template"]?.string
    }

    /// The ids added around every sequence: BOS and EOS where the file asks for them.
    var postProcessor: BPETokenizer.PostProcessor {
        BPETokenizer.PostProcessor(
            prefix: addsBOS ? bosTokenID.map { [$0] } ?? [] : [],
            suffix: addsEOS ? eosTokenID.map { [$0] } ?? [] : [])
    }

    var description: BPETokenizer.Description {
        BPETokenizer.Description(
            vocabulary: vocabulary, merges: merges, addedTokens: addedTokens,
            preTokenizer: PreTokenizer(steps: preTokenizer), ignoresMerges: ignoresMerges, postProcessor: postProcessor,
            bosToken: bosTokenID.map { spellings[Int($0)] }, eosToken: eosTokenID.map { spellings[Int($0)] },
            chatTemplate: chatTemplate, source: "GGUF")
    }

    /// llama.cpp's pre-tokenizer names, and whether the vocabulary ignores merges
    /// for whole-word tokens (llama.cpp does for Llama-3, as its tokenizer.json).
    private static let preTokenizers: [String: (steps: [PreTokenizer.Step], ignoresMerges: Bool)] = [
        "gpt2": ([.split(.gpt2)], false),
        "llama-bpe": ([.split(.llama3)], true),
        "llama3": ([.split(.llama3)], true),
        "qwen2": ([.split(.qwen2)], false),
        // SmolLM2's tokenizer.json: Digits(individual_digits) before ByteLevel.
        "smollm": ([.digits(individually: true), .split(.gpt2)], false),
    ]
}
