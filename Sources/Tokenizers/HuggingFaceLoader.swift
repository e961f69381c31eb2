import Foundation
import Support

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

/// A JSON value and where it sits in its file, so that a wrong or missing value
/// is reported by its path: `tokenizer.json: model.vocab.abc: expected ...`.
private struct Located {
    let value: JSONValue
    let path: String
    let file: String

    static func parse(_ data: Data, file: String) throws -> Located {
        do {
            return Located(value: try JSONValue.parse(data), path: "", file: file)
        } catch {
            throw TokenizerError("\(file): invalid JSON at \(error.located)")
        }
    }

    func error(_ detail: String) -> TokenizerError {
        TokenizerError("\(file): " + (path.isEmpty ? "" : "\(path): ") + detail)
    }

    func member(_ key: String) -> Located? {
        value[key].map { Located(value: $0, path: path.isEmpty ? key : "\(path).\(key)", file: file) }
    }

    /// The member, or nil where it is missing or null.
    func optional(_ key: String) throws -> Located? {
        guard value.members != nil else { throw error("expected an object") }
        guard let member = member(key), !member.value.isNull else { return nil }
        return member
    }

    func required(_ key: String) throws -> Located {
        guard let member = try optional(key) else { throw error("missing field \"\(key)\"") }
        return member
    }

    func elements() throws -> [Located] {
        guard let array = value.list else { throw error("expected an array") }
        return array.enumerated().map { Located(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string() throws -> String {
        guard let string = value.string else { throw error("expected a string") }
        return string
    }

    func bool() throws -> Bool {
        guard let bool = value.bool else { throw error("expected true or false") }
        return bool
    }

    func tokenID() throws -> Int32 {
        guard let id = value.int32 else { throw error("expected an integer token id") }
        return id
    }
}

/// The parts of `tokenizer.json` that byte-level BPE uses.
private enum TokenizerFile {
    static func parse(_ data: Data) throws -> BPETokenizer.Description {
        let file = try Located.parse(data, file: "tokenizer.json")
        let model = try file.required("model")
        func unsupported(_ what: String) -> TokenizerError { TokenizerError("tokenizer.json: \(what) is not supported") }
        if let type = try model.optional("type")?.string(), type != "BPE" {
            throw unsupported("model type \(quoted(type)) (only BPE)")
        }
        if let dropout = try model.optional("dropout")?.value.number, dropout > 0 { throw unsupported("BPE dropout") }
        if try model.optional("byte_fallback")?.bool() == true { throw unsupported("byte_fallback (a SentencePiece-style BPE)") }
        for affix in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if try model.optional(affix)?.string().isEmpty == false { throw unsupported("a subword prefix or suffix (\(affix))") }
        }

        let vocab = try model.required("vocab")
        guard let entries = vocab.value.members else { throw vocab.error("expected an object") }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(entries.count)
        for entry in entries {
            guard let id = entry.value.int32 else { throw vocab.member(entry.name)!.error("expected an integer token id") }
            vocabulary[entry.name] = id
        }
        let merges = try model.required("merges").elements().map { merge -> (String, String) in
            let parts =
                try merge.value.string.map { $0.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
                ?? merge.elements().map { try $0.string() }
            guard parts.count == 2 else {
                throw merge.error("expected two tokens, as \"a b\" or [\"a\", \"b\"]")
            }
            return (parts[0], parts[1])
        }
        let addedTokens = try (file.optional("added_tokens")?.elements() ?? []).map { token in
            let special = try token.optional("special")?.bool() ?? false
            return AddedToken(
                content: try token.required("content").string(), id: try token.required("id").tokenID(), special: special,
                singleWord: try token.optional("single_word")?.bool() ?? false,
                stripsLeft: try token.optional("lstrip")?.bool() ?? false,
                stripsRight: try token.optional("rstrip")?.bool() ?? false,
                normalized: try token.optional("normalized")?.bool() ?? !special)
        }
        try checkDecoder(file.value["decoder"])
        return BPETokenizer.Description(
            vocabulary: vocabulary,
            merges: merges,
            addedTokens: addedTokens,
            normalizesToNFC: try parseNormalizer(file.value["normalizer"]),
            preTokenizer: try parsePreTokenizer(file.value["pre_tokenizer"]),
            ignoresMerges: try model.optional("ignore_merges")?.bool() ?? false,
            postProcessor: try parsePostProcessor(file.value["post_processor"]),
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
                guard let members = component["pretokenizers"]?.list else {
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
                    throw TokenizerError(
                        "tokenizer.json: \(path): split regex \(quoted(regex)) is not one of the "
                            + "supported GPT-2, Llama-3 and Qwen2 patterns")
                }
                preTokenizer.steps.append(.split(pattern))
            case "Digits":
                preTokenizer.steps.append(.digits(individually: component["individual_digits"]?.bool ?? false))
            case "ByteLevel":
                if component["add_prefix_space"]?.bool ?? true {
                    guard preTokenizer.steps.isEmpty else {
                        throw TokenizerError(
                            "tokenizer.json: \(path): ByteLevel with add_prefix_space is only "
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
                guard let members = component["processors"]?.list else {
                    throw TokenizerError("tokenizer.json: \(path): Sequence without a \"processors\" array")
                }
                for (index, member) in members.enumerated() { try add(member, "\(path).processors[\(index)]") }
            case "TemplateProcessing":
                guard let pieces = component["single"]?.list else {
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
                        guard let listed = component["special_tokens"]?[name]?["ids"]?.list else {
                            throw TokenizerError("tokenizer.json: \(path): special token \(quoted(name)) has no ids")
                        }
                        let ids = try listed.map { value -> Int32 in
                            guard let id = value.int32 else {
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
private struct TokenizerConfig {
    var bosToken: String?
    var eosToken: String?
    var chatTemplate: String?

    static func parse(_ data: Data) throws -> TokenizerConfig {
        let file = try Located.parse(data, file: "tokenizer_config.json")
        func token(_ key: String) throws -> String? {
            guard let token = try file.optional(key) else { return nil }
            return try token.value.string ?? token.required("content").string()
        }
        var chatTemplate: String?
        if let template = try file.optional("chat_template") {
            chatTemplate =
                try template.value.string
                ?? template.elements()
                .first { $0.value["name"]?.string == "default" }?.required("template").string()
        }
        return TokenizerConfig(bosToken: try token("bos_token"), eosToken: try token("eos_token"), chatTemplate: chatTemplate)
    }
}
