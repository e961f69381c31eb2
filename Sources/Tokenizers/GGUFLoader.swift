import Engine

extension BPETokenizer {
    /// Reads the byte-level BPE tokenizer that llama.cpp stores in a GGUF file's
    /// metadata (`tokenizer.ggml.*`), as `transformers` converts it: tokens of
    /// type 3 (control) become special added tokens, type 4 (user-defined) plain
    /// added ones, and `tokenizer.ggml.pre` picks the splitting regex.
    public init(ggufMetadata metadata: [String: GGUFValue]) throws {
        func fail(_ detail: String) -> TokenizerError { TokenizerError("GGUF: \(detail)") }
        func strings(_ key: String) throws -> [String] {
            guard let value = metadata[key] else { throw fail("missing \(key)") }
            guard let array = value.array else { throw fail("\(key) is not an array") }
            return try array.enumerated().map { index, element in
                guard let string = element.string else { throw fail("\(key)[\(index)] is not a string") }
                return string
            }
        }
        func tokenID(_ key: String, count: Int) throws -> Int32? {
            guard let value = metadata[key] else { return nil }
            guard let id = value.int, id >= 0, id < count else { throw fail("\(key) is not a token id below \(count)") }
            return Int32(id)
        }

        guard let model = metadata["tokenizer.ggml.model"] else { throw fail("missing tokenizer.ggml.model") }
        guard model.string == "gpt2" else {
            throw fail("tokenizer.ggml.model \(model.string.map(quoted) ?? "\(model)") is not supported "
                       + "(only \"gpt2\", byte-level BPE)")
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        let tokenTypes = try metadata["tokenizer.ggml.token_type"].map { value -> [Int] in
            guard let types = value.array?.compactMap(\.int), types.count == tokens.count else {
                throw fail("tokenizer.ggml.token_type is not \(tokens.count) integers, one per token")
            }
            return types
        }
        let merges = try strings("tokenizer.ggml.merges").enumerated().map { index, merge -> (String, String) in
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw fail("tokenizer.ggml.merges[\(index)] \(quoted(merge)) is not two tokens separated by one space")
            }
            return (String(parts[0]), String(parts[1]))
        }
        let pre = metadata["tokenizer.ggml.pre"]?.string ?? "gpt2"
        guard let (steps, ignoresMerges) = Self.ggufPreTokenizers[pre] else {
            throw fail("tokenizer.ggml.pre \(quoted(pre)) is not supported (supported: "
                       + Self.ggufPreTokenizers.keys.sorted().joined(separator: ", ") + ")")
        }

        // A token written outside the byte alphabet (a raw "\n", say) is respelled
        // in it, so that BPE over bytes can produce it.
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
        let bos = try tokenID("tokenizer.ggml.bos_token_id", count: tokens.count)
        let eos = try tokenID("tokenizer.ggml.eos_token_id", count: tokens.count)
        var postProcessor = PostProcessor()
        if metadata["tokenizer.ggml.add_bos_token"]?.bool == true, let bos { postProcessor.prefix = [bos] }
        if metadata["tokenizer.ggml.add_eos_token"]?.bool == true, let eos { postProcessor.suffix = [eos] }
        try self.init(Description(
            vocabulary: vocabulary, merges: merges, addedTokens: addedTokens,
            preTokenizer: PreTokenizer(steps: steps), ignoresMerges: ignoresMerges, postProcessor: postProcessor,
            bosToken: bos.map { spellings[Int($0)] }, eosToken: eos.map { spellings[Int($0)] },
            chatTemplate: metadata["tokenizer.chat_template"]?.string, source: "GGUF"))
    }

    /// llama.cpp's pre-tokenizer names, and whether the vocabulary ignores merges
    /// for whole-word tokens (llama.cpp does for Llama-3, as its tokenizer.json).
    private static let ggufPreTokenizers: [String: ([PreTokenizer.Step], Bool)] = [
        "gpt2": ([.split(.gpt2)], false),
        "llama-bpe": ([.split(.llama3)], true),
        "llama3": ([.split(.llama3)], true),
        "qwen2": ([.split(.qwen2)], false),
        // SmolLM2's tokenizer.json: Digits(individual_digits) before ByteLevel.
        "smollm": ([.digits(individually: true), .split(.gpt2)], false),
    ]
}
