import Foundation

extension BPETokenizer {
    /// Loads a Hugging Face `tokenizer.json` whose model is byte-level BPE.
    public init(tokenizerJSON url: URL) throws {
        try self.init(tokenizerJSON: try readTokenizerFile(url))
    }

    /// `tokenizerConfig` is the model's `tokenizer_config.json`, which names the
    /// BOS and EOS tokens and carries the chat template.
    public init(tokenizerJSON data: Data, tokenizerConfig: Data? = nil) throws {
        var description = try TokenizerFile.parse(data)
        if let tokenizerConfig {
            let config = try TokenizerConfig.parse(tokenizerConfig)
            description.bosToken = config.bosToken
            description.eosToken = config.eosToken
            description.chatTemplate = config.chatTemplate
        }
        try self.init(description)
    }

    /// Loads `tokenizer.json` and, when present, `tokenizer_config.json` from a
    /// model folder as the Hugging Face hub lays it out.
    public init(huggingFaceFolder folder: URL) throws {
        let config = folder.appendingPathComponent("tokenizer_config.json")
        try self.init(
            tokenizerJSON: try readTokenizerFile(folder.appendingPathComponent("tokenizer.json")),
            tokenizerConfig: FileManager.default.fileExists(atPath: config.path) ? try readTokenizerFile(config) : nil)
    }
}

private func readTokenizerFile(_ url: URL) throws -> Data {
    do {
        return try Data(contentsOf: url)
    } catch {
        throw TokenizerError("cannot read \(url.path): \(error.localizedDescription)")
    }
}

private func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch let error as DecodingError {
        throw TokenizerError(error, in: file)
    }
}

/// The parts of `tokenizer.json` that byte-level BPE uses.
private struct TokenizerFile: Decodable {
    struct Model: Decodable {
        var type: String?
        var vocab: [String: Int32]
        var merges: [Merge]
        var ignore_merges: Bool?
        var dropout: Double?
        var continuing_subword_prefix: String?
        var end_of_word_suffix: String?
        var byte_fallback: Bool?
    }

    /// Written `"a b"` by older files and `["a", "b"]` by newer ones.
    struct Merge: Decodable {
        var left: String
        var right: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let line = try? container.decode(String.self) {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "merge \(quoted(line)) is not two tokens separated by one space")
                }
                (left, right) = (String(parts[0]), String(parts[1]))
            } else {
                let pair = try container.decode([String].self)
                guard pair.count == 2 else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "merge has \(pair.count) tokens instead of 2")
                }
                (left, right) = (pair[0], pair[1])
            }
        }
    }

    struct AddedTokenEntry: Decodable {
        var id: Int32
        var content: String
        var special: Bool?
        var single_word: Bool?
        var lstrip: Bool?
        var rstrip: Bool?
        var normalized: Bool?
    }

    var model: Model
    var added_tokens: [AddedTokenEntry]?
    var normalizer: JSONValue?
    var pre_tokenizer: JSONValue?
    var post_processor: JSONValue?
    var decoder: JSONValue?

    static func parse(_ data: Data) throws -> BPETokenizer.Description {
        let file = try decodeJSON(TokenizerFile.self, from: data, file: "tokenizer.json")
        let model = file.model
        func unsupported(_ what: String) -> TokenizerError { TokenizerError("tokenizer.json: \(what) is not supported") }
        if let type = model.type, type != "BPE" { throw unsupported("model type \(quoted(type)) (only BPE)") }
        if let dropout = model.dropout, dropout > 0 { throw unsupported("BPE dropout") }
        if model.byte_fallback == true { throw unsupported("byte_fallback (a SentencePiece-style BPE)") }
        if !(model.continuing_subword_prefix ?? "").isEmpty || !(model.end_of_word_suffix ?? "").isEmpty {
            throw unsupported("a continuing-subword prefix or end-of-word suffix")
        }
        let addedTokens = (file.added_tokens ?? []).map {
            AddedToken(content: $0.content, id: $0.id, special: $0.special ?? false, singleWord: $0.single_word ?? false,
                       stripsLeft: $0.lstrip ?? false, stripsRight: $0.rstrip ?? false,
                       normalized: $0.normalized ?? !($0.special ?? false))
        }
        try checkDecoder(file.decoder)
        return BPETokenizer.Description(
            vocabulary: model.vocab,
            merges: model.merges.map { ($0.left, $0.right) },
            addedTokens: addedTokens,
            normalizesToNFC: try parseNormalizer(file.normalizer),
            preTokenizer: try parsePreTokenizer(file.pre_tokenizer),
            ignoresMerges: model.ignore_merges ?? false,
            postProcessor: try parsePostProcessor(file.post_processor),
            source: "tokenizer.json")
    }

    private static func type(of component: JSONValue, _ path: String) throws -> String {
        guard let type = component["type"]?.string else {
            throw TokenizerError("tokenizer.json: \(path): expected an object with a \"type\" string")
        }
        return type
    }

    /// Decoding is always byte-level; a file asking for another decoder is not
    /// a byte-level tokenizer.
    private static func checkDecoder(_ decoder: JSONValue?) throws {
        guard let decoder, !decoder.isNull else { return }
        guard decoder["type"]?.string == "ByteLevel" else {
            throw TokenizerError("tokenizer.json: decoder: only the ByteLevel decoder is supported")
        }
    }

    /// NFC is the only normalizer of the byte-level tokenizers this supports.
    private static func parseNormalizer(_ normalizer: JSONValue?) throws -> Bool {
        guard let normalizer, !normalizer.isNull else { return false }
        let type = try type(of: normalizer, "normalizer")
        guard type == "NFC" else { throw TokenizerError("tokenizer.json: normalizer \(quoted(type)) is not supported") }
        return true
    }

    private static func parsePreTokenizer(_ component: JSONValue?) throws -> PreTokenizer {
        var preTokenizer = PreTokenizer(steps: [])
        var hasByteLevel = false
        func add(_ component: JSONValue, _ path: String) throws {
            let type = try type(of: component, path)
            switch type {
            case "Sequence":
                guard let members = component["pretokenizers"]?.array else {
                    throw TokenizerError("tokenizer.json: \(path): Sequence without a \"pretokenizers\" array")
                }
                for (index, member) in members.enumerated() { try add(member, "\(path).pretokenizers[\(index)]") }
            case "Split":
                guard component["behavior"]?.string == "Isolated", component["invert"]?.bool != true else {
                    throw TokenizerError("tokenizer.json: \(path): only Split with behavior Isolated, not inverted, is supported")
                }
                guard let regex = component["pattern"]?["Regex"]?.string else {
                    throw TokenizerError("tokenizer.json: \(path): only Split with a \"Regex\" pattern is supported")
                }
                guard let pattern = SplitPattern(regex: regex) else {
                    throw TokenizerError("tokenizer.json: \(path): split regex \(quoted(regex)) is not one of the "
                                         + "supported GPT-2, Llama-3 and Qwen2 patterns")
                }
                preTokenizer.steps.append(.split(pattern))
            case "Digits":
                preTokenizer.steps.append(.digits(individually: component["individual_digits"]?.bool ?? false))
            case "ByteLevel":
                if component["add_prefix_space"]?.bool ?? true {
                    guard preTokenizer.steps.isEmpty else {
                        throw TokenizerError("tokenizer.json: \(path): ByteLevel with add_prefix_space is only "
                                             + "supported as the first pre-tokenizer")
                    }
                    preTokenizer.addsPrefixSpace = true
                }
                if component["use_regex"]?.bool ?? true { preTokenizer.steps.append(.split(.gpt2)) }
                hasByteLevel = true
            default:
                throw TokenizerError("tokenizer.json: \(path): pre-tokenizer \(quoted(type)) is not supported")
            }
        }
        if let component, !component.isNull { try add(component, "pre_tokenizer") }
        guard hasByteLevel else {
            throw TokenizerError("tokenizer.json: pre_tokenizer: byte-level BPE needs a ByteLevel pre-tokenizer")
        }
        return preTokenizer
    }

    /// What `TemplateProcessing` puts around a single sequence; `ByteLevel` only
    /// adjusts offsets, so it adds nothing.
    private static func parsePostProcessor(_ component: JSONValue?) throws -> BPETokenizer.PostProcessor {
        var processor = BPETokenizer.PostProcessor()
        func add(_ component: JSONValue, _ path: String) throws {
            switch try type(of: component, path) {
            case "ByteLevel": break
            case "Sequence":
                guard let members = component["processors"]?.array else {
                    throw TokenizerError("tokenizer.json: \(path): Sequence without a \"processors\" array")
                }
                for (index, member) in members.enumerated() { try add(member, "\(path).processors[\(index)]") }
            case "TemplateProcessing":
                guard let pieces = component["single"]?.array else {
                    throw TokenizerError("tokenizer.json: \(path): TemplateProcessing without a \"single\" template")
                }
                var seenSequence = false
                for piece in pieces {
                    if piece["Sequence"] != nil {
                        guard !seenSequence else {
                            throw TokenizerError("tokenizer.json: \(path): the single template repeats the sequence")
                        }
                        seenSequence = true
                    } else if let name = piece["SpecialToken"]?["id"]?.string {
                        guard let listed = component["special_tokens"]?[name]?["ids"]?.array else {
                            throw TokenizerError("tokenizer.json: \(path): special token \(quoted(name)) has no ids")
                        }
                        let ids = try listed.map { value -> Int32 in
                            guard case let .number(number) = value, let id = Int32(exactly: number) else {
                                throw TokenizerError("tokenizer.json: \(path): special token \(quoted(name)) has a bad id")
                            }
                            return id
                        }
                        if seenSequence { processor.suffix += ids } else { processor.prefix += ids }
                    } else {
                        throw TokenizerError("tokenizer.json: \(path): unknown piece in the single template")
                    }
                }
            case let type:
                throw TokenizerError("tokenizer.json: \(path): post-processor \(quoted(type)) is not supported")
            }
        }
        if let component, !component.isNull { try add(component, "post_processor") }
        return processor
    }
}

/// `tokenizer_config.json`: special tokens are written as a string or as an
/// `AddedToken` object, the chat template as a string or a list of named ones.
private struct TokenizerConfig: Decodable {
    var bos_token: JSONValue?
    var eos_token: JSONValue?
    var chat_template: JSONValue?

    var bosToken: String? { Self.content(bos_token) }
    var eosToken: String? { Self.content(eos_token) }

    var chatTemplate: String? {
        if let template = chat_template?.string { return template }
        let named = chat_template?.array?.first { $0["name"]?.string == "default" }
        return named?["template"]?.string
    }

    static func parse(_ data: Data) throws -> TokenizerConfig {
        try decodeJSON(TokenizerConfig.self, from: data, file: "tokenizer_config.json")
    }

    private static func content(_ token: JSONValue?) -> String? { token?.string ?? token?["content"]?.string }
}
