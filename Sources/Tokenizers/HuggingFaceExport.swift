import Engine
import Foundation

/// Writing a GGUF file's tokenizer, or a trained one, as the `tokenizer.json`
/// and `tokenizer_config.json` a Hugging Face folder carries, so a model
/// converted from GGUF or trained here leaves the project as a standard checkpoint.
extension BPETokenizer {
    /// The two files, built from the same reading of the metadata that
    /// `init(ggufMetadata:)` loads, so they describe the tokenizer it gives.
    public static func huggingFaceFiles(ggufMetadata metadata: [String: GGUFValue], maxLength: Int? = nil) throws -> [String: Data] {
        let gguf = try GGUFVocabulary(metadata: metadata)
        // Loading first validates everything the export relies on.
        _ = try BPETokenizer(gguf.description)

        let json = tokenizerJSON(gguf.description, tokens: gguf.tokens)
        var config: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false,
            "add_bos_token": gguf.addsBOS, "add_eos_token": gguf.addsEOS,
        ]
        if let bos = gguf.bosTokenID { config["bos_token"] = gguf.tokens[Int(bos)] }
        if let eos = gguf.eosTokenID { config["eos_token"] = gguf.tokens[Int(eos)] }
        if let padding = gguf.paddingTokenID { config["pad_token"] = gguf.tokens[Int(padding)] }
        if let template = gguf.chatTemplate { config["chat_template"] = template }
        if let maxLength { config["model_max_length"] = maxLength }
        return [
            "tokenizer.json": try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]),
            "tokenizer_config.json": try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]),
        ]
    }

    /// The `tokenizer.json` object for `description`, which loading it gives
    /// back; `tokens` names each id in the post-processor's template.
    static func tokenizerJSON(_ description: Description, tokens: [String]) -> [String: Any] {
        [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "normalizer": NSNull(),
            "added_tokens": description.addedTokens.map {
                [
                    "id": Int($0.id), "content": $0.content, "single_word": $0.singleWord, "lstrip": $0.stripsLeft,
                    "rstrip": $0.stripsRight, "normalized": $0.normalized, "special": $0.special,
                ]
            },
            "pre_tokenizer": preTokenizerJSON(description.preTokenizer.steps),
            "post_processor": postProcessorJSON(description.postProcessor, tokens: tokens),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
                "ignore_merges": description.ignoresMerges, "vocab": description.vocabulary.mapValues(Int.init),
                "merges": description.merges.map { [$0.0, $0.1] },
            ] as [String: Any],
        ]
    }

    /// The `pre_tokenizer` that `init(tokenizerJSON:)` reads back as `steps`.
    /// Byte-level BPE needs a ByteLevel pre-tokenizer last; it splits as GPT-2
    /// itself when `use_regex` is on, so a final GPT-2 split is folded into it.
    private static func preTokenizerJSON(_ steps: [PreTokenizer.Step]) -> [String: Any] {
        let usesRegex = steps.last == .split(.gpt2)
        let members =
            steps.dropLast(usesRegex ? 1 : 0).map { step -> [String: Any] in
                switch step {
                case let .digits(individually): ["type": "Digits", "individual_digits": individually]
                case let .split(pattern):
                    ["type": "Split", "pattern": ["Regex": pattern.regex], "behavior": "Isolated", "invert": false]
                }
            } + [["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": usesRegex, "use_regex": usesRegex]]
        return members.count == 1 ? members[0] : ["type": "Sequence", "pretokenizers": members]
    }

    /// A `TemplateProcessing` that puts `processor`'s ids around each sequence
    /// of a single or a pair, as transformers writes it for Llama.
    private static func postProcessorJSON(_ processor: PostProcessor, tokens: [String]) -> [String: Any] {
        let ids = processor.prefix + processor.suffix
        guard !ids.isEmpty else {
            return ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true]
        }
        func template(_ sequence: String, typeID: Int) -> [[String: Any]] {
            func special(_ ids: [Int32]) -> [[String: Any]] {
                ids.map { ["SpecialToken": ["id": tokens[Int($0)], "type_id": typeID]] }
            }
            return special(processor.prefix) + [["Sequence": ["id": sequence, "type_id": typeID]]] + special(processor.suffix)
        }
        return [
            "type": "TemplateProcessing",
            "single": template("A", typeID: 0),
            "pair": template("A", typeID: 0) + template("B", typeID: 1),
            "special_tokens": Dictionary(
                ids.map { id in
                    (tokens[Int(id)], ["id": tokens[Int(id)], "ids": [Int(id)], "tokens": [tokens[Int(id)]]] as [String: Any])
                }, uniquingKeysWith: { first, _ in first }),
        ]
    }
}
