import Engine
import Foundation

/// Writing a GGUF file's tokenizer as the `tokenizer.json` and
/// `tokenizer_config.json` a Hugging Face folder carries, so a model converted
/// from GGUF leaves the project as a standard checkpoint.
extension BPETokenizer {
    /// The two files, built from the same metadata `init(ggufMetadata:)` reads
    /// (tokens, merges, token types, `tokenizer.ggml.pre`, BOS/EOS, chat template).
    public static func huggingFaceFiles(ggufMetadata metadata: [String: GGUFValue], maxLength: Int? = nil) throws -> [String: Data] {
        // Loading first validates everything the export relies on.
        let tokenizer = try BPETokenizer(ggufMetadata: metadata)
        let tokens = metadata["tokenizer.ggml.tokens"]?.array?.compactMap(\.string) ?? []
        let types = metadata["tokenizer.ggml.token_type"]?.array?.compactMap(\.int)
        let merges = metadata["tokenizer.ggml.merges"]?.array?.compactMap(\.string) ?? []
        let spellings = tokens.map { ByteLevel.bytes(spelledBy: $0) != nil ? $0 : ByteLevel.spelling(of: $0.utf8) }

        var vocabulary: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (id, token) in tokens.enumerated() {
            vocabulary[spellings[id]] = id
            let type = types?[id] ?? 1
            if spellings[id] == token, type == 3 || type == 4 {
                added.append(["id": id, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": false, "special": type == 3])
            }
        }
        let pre = metadata["tokenizer.ggml.pre"]?.string ?? "gpt2"
        func byteLevel(regex: Bool) -> [String: Any] {
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": regex, "use_regex": regex]
        }
        func split(_ pattern: SplitPattern) -> [String: Any] {
            let regex = SplitPattern.regexes.first { $0.0 == pattern }!.1
            return ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false], byteLevel(regex: false),
            ]]
        }
        let preTokenizer: [String: Any]
        switch pre {
        case "llama-bpe", "llama3": preTokenizer = split(.llama3)
        case "qwen2": preTokenizer = split(.qwen2)
        case "smollm":
            preTokenizer = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel(regex: true)]]
        default: preTokenizer = byteLevel(regex: true)
        }
        let ignoresMerges = pre == "llama-bpe" || pre == "llama3"
        let addsBOS = metadata["tokenizer.ggml.add_bos_token"]?.bool == true
        var postProcessor: [String: Any] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true]
        if addsBOS, let bos = tokenizer.bosTokenID {
            let name = tokens[Int(bos)]
            postProcessor = [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": name, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                "pair": [["SpecialToken": ["id": name, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                         ["SpecialToken": ["id": name, "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
                "special_tokens": [name: ["id": name, "ids": [Int(bos)], "tokens": [name]]],
            ]
        }
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added, "normalizer": NSNull(),
            "pre_tokenizer": preTokenizer, "post_processor": postProcessor,
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": ignoresMerges,
                "vocab": vocabulary, "merges": merges.map { $0.split(separator: " ", omittingEmptySubsequences: false).map(String.init) },
            ] as [String: Any],
        ]
        var config: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false, "add_bos_token": addsBOS,
            "add_eos_token": metadata["tokenizer.ggml.add_eos_token"]?.bool == true,
        ]
        if let bos = tokenizer.bosTokenID { config["bos_token"] = tokens[Int(bos)] }
        if let eos = tokenizer.eosTokenID { config["eos_token"] = tokens[Int(eos)] }
        if let padding = metadata["tokenizer.ggml.padding_token_id"]?.int, padding < tokens.count { config["pad_token"] = tokens[padding] }
        if let template = tokenizer.chatTemplateSource { config["chat_template"] = template }
        if let maxLength { config["model_max_length"] = maxLength }
        return [
            "tokenizer.json": try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]),
            "tokenizer_config.json": try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]),
        ]
    }
}
