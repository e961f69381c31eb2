import Engine
import Foundation
import Support

/// Hugging Face checkpoint folders: `config.json` plus `model.safetensors`
/// (or shards listed in `model.safetensors.index.json`), read and written in
/// the layout `transformers` loads with `AutoModelForCausalLM.from_pretrained`.
extension DecoderConfig {
    /// Reads a Llama or Qwen2 `config.json`. Missing optional fields take the
    /// defaults `transformers` gives them for that model type; a field that
    /// is present must have its type (a boolean is not a layer count, a
    /// string is not a rope base), and `null` is accepted only where
    /// `transformers` writes it (`rope_scaling`, `head_dim`).
    public init(huggingFaceConfig data: Data, source: String = "config.json") throws {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch { throw InvalidInput(place: source, problem: error.located) }
        guard json.members != nil else { throw InvalidInput(place: source, problem: "not a JSON object") }
        func wrongType(_ key: String, _ value: JSONValue, _ expected: String) -> InvalidInput {
            InvalidInput(place: "\(source): \(key)", problem: "must be \(expected), got \(value.jsonText)")
        }
        func integer(_ key: String, in object: JSONValue = json, default fallback: Int? = nil) throws -> Int {
            guard let value = object[key] else {
                if let fallback { return fallback }
                throw InvalidInput(place: source, problem: "missing integer field \(key)")
            }
            guard let number = value.int, let exact = Int(exactly: number) else { throw wrongType(key, value, "an integer") }
            return exact
        }
        func number(_ key: String, in object: JSONValue = json) throws -> Double? {
            guard let value = object[key] else { return nil }
            guard let number = value.number else { throw wrongType(key, value, "a number") }
            return number
        }
        func boolean(_ key: String) throws -> Bool {
            guard let value = json[key] else { return false }
            guard let flag = value.bool else { throw wrongType(key, value, "true or false") }
            return flag
        }
        func object(_ key: String) throws -> JSONValue? {
            guard let value = json[key], !value.isNull else { return nil }
            guard value.members != nil else { throw wrongType(key, value, "an object") }
            return value
        }
        guard let type = json["model_type"]?.string, let architecture = Architecture(rawValue: type) else {
            throw InvalidInput(
                place: source,
                problem: "model_type \(json["model_type"]?.jsonText ?? "missing") is not supported (llama, qwen2 are)")
        }
        let heads = try integer("num_attention_heads")
        // transformers 5 folds rope_theta and rope_scaling into rope_parameters.
        let rope = try object("rope_parameters")
        self.init(
            vocabSize: try integer("vocab_size"),
            hiddenSize: try integer("hidden_size"),
            intermediateSize: try integer("intermediate_size"),
            layers: try integer("num_hidden_layers"),
            heads: heads,
            kvHeads: try integer("num_key_value_heads", default: heads),
            ropeTheta: try number("rope_theta") ?? rope.flatMap { try number("rope_theta", in: $0) } ?? 10000,
            rmsNormEps: Float(try number("rms_norm_eps") ?? 1e-6),
            maxPositions: try integer("max_position_embeddings", default: architecture == .qwen2 ? 32768 : 2048),
            tieEmbeddings: try boolean("tie_word_embeddings"),
            attentionBias: try architecture == .qwen2 || boolean("attention_bias"),
            architecture: architecture)
        try validate()
        if let value = json["head_dim"], !value.isNull {
            guard let headDim = value.int else { throw wrongType("head_dim", value, "an integer") }
            try requireValid(
                headDim == self.headDim, "\(source): head_dim",
                "\(headDim) differs from hidden_size / num_attention_heads = \(self.headDim), which is not supported")
        }
        if let scaling = try object("rope_scaling") ?? rope,
            let kind = (scaling["rope_type"] ?? scaling["type"])?.string, kind != "default"
        {
            guard kind == "llama3", let factor = try number("factor", in: scaling) else {
                throw InvalidInput(place: source, problem: "rope scaling \(kind) is not supported (llama3 with a factor is)")
            }
            ropeScaling = .llama3(
                factor: factor, lowFrequencyFactor: try number("low_freq_factor", in: scaling) ?? 1,
                highFrequencyFactor: try number("high_freq_factor", in: scaling) ?? 4,
                originalMaxPositions: try integer("original_max_position_embeddings", in: scaling, default: 8192))
        }
        try validate()
    }

    /// The `config.json` `transformers` needs to rebuild this decoder.
    public func huggingFaceConfig(bosTokenID: Int32? = nil, eosTokenID: Int32? = nil) throws -> Data {
        var json: [String: Any] = [
            "architectures": [architecture == .qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
            "model_type": architecture.rawValue,
            "vocab_size": vocabSize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize,
            "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kvHeads,
            "head_dim": headDim, "hidden_act": "silu", "rope_theta": ropeTheta, "rms_norm_eps": Double(rmsNormEps),
            "max_position_embeddings": maxPositions, "tie_word_embeddings": tieEmbeddings,
            "torch_dtype": "float32", "use_cache": true,
        ]
        if architecture == .llama {
            json["attention_bias"] = attentionBias
            json["mlp_bias"] = false
        }
        if let bosTokenID { json["bos_token_id"] = Int(bosTokenID) }
        if let eosTokenID { json["eos_token_id"] = Int(eosTokenID) }
        switch ropeScaling {
        case nil: break
        case let .llama3(factor, low, high, original):
            json["rope_scaling"] = [
                "rope_type": "llama3", "factor": factor, "low_freq_factor": low,
                "high_freq_factor": high, "original_max_position_embeddings": original,
            ]
        case .frequencyDivisors:
            throw InvalidInput(
                place: "config.json", problem: "GGUF rope_freqs divisors have no config.json form; write the llama3 parameters instead")
        }
        return try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
    }
}

/// The files besides the weights and `config.json` that a Hugging Face
/// checkpoint folder may carry and that travel with it (pull, export).
public let huggingFaceSideFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"]

extension Decoder {
    /// A `.gguf` file or a Hugging Face folder.
    public convenience init(contentsOf url: URL) throws {
        if url.pathExtension == "gguf" { try self.init(gguf: GGUFFile(contentsOf: url)) } else { try self.init(huggingFaceFolder: url) }
    }

    /// Loads `config.json` and the safetensors weights of a Hugging Face folder.
    public convenience init(huggingFaceFolder folder: URL) throws {
        let configURL = folder.appendingPathComponent("config.json")
        guard let configData = try? Data(contentsOf: configURL) else {
            throw InvalidInput(place: "Decoder", problem: "\(folder.path) has no readable config.json")
        }
        let config = try DecoderConfig(huggingFaceConfig: configData, source: configURL.path)
        try self.init(config: config, weights: try readSafetensorsWeights(folder: folder))
    }

    /// Writes `config.json` and `model.safetensors` (adapters merged in; plus `extraFiles`, such as
    /// the tokenizer's) into `folder`, replacing it atomically: everything is
    /// written to a sibling temporary folder that is renamed into place last.
    public func saveHuggingFace(
        to folder: URL, storage: DType = .f32, bosTokenID: Int32? = nil, eosTokenID: Int32? = nil,
        extraFiles: [String: Data] = [:]
    ) throws {
        var archive = TensorArchive(storage: storage)
        archive.metadata = ["format": "pt"]
        // With LoRA adapters the folder holds the merged model, the one that computes.
        for parameter in parameters { archive.tensors[parameter.name] = effectiveWeight(parameter) }
        let staging = try makeStagingDirectory(for: folder)
        do {
            try archive.write(to: staging.appendingPathComponent("model.safetensors"))
            try config.huggingFaceConfig(bosTokenID: bosTokenID, eosTokenID: eosTokenID)
                .write(to: staging.appendingPathComponent("config.json"))
            for (name, data) in extraFiles { try data.write(to: staging.appendingPathComponent(name)) }
            try replaceDirectory(folder, with: staging)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
    }
}

/// All tensors of `model.safetensors`, or of the shards an index lists.
func readSafetensorsWeights(folder: URL) throws -> [String: Tensor] {
    let single = folder.appendingPathComponent("model.safetensors")
    if FileManager.default.fileExists(atPath: single.path) { return try TensorArchive(contentsOf: single).tensors }
    let indexURL = folder.appendingPathComponent("model.safetensors.index.json")
    guard let indexData = try? Data(contentsOf: indexURL) else {
        throw InvalidInput(
            place: "Decoder", problem: "\(folder.path) has neither model.safetensors nor model.safetensors.index.json")
    }
    guard let index = try? JSONSerialization.jsonObject(with: indexData) as? [String: Any],
        let map = index["weight_map"] as? [String: String]
    else {
        throw InvalidInput(place: indexURL.path, problem: "no weight_map object")
    }
    var weights: [String: Tensor] = [:]
    for shard in Set(map.values).sorted() {
        guard !shard.contains("/") else {
            throw InvalidInput(place: indexURL.path, problem: "shard name \(shard) leaves the folder")
        }
        let tensors = try TensorArchive(contentsOf: folder.appendingPathComponent(shard)).tensors
        for (name, file) in map where file == shard {
            guard let tensor = tensors[name] else {
                throw InvalidInput(place: indexURL.path, problem: "\(shard) does not contain \(name) as the index says")
            }
            weights[name] = tensor
        }
    }
    return weights
}

/// An empty folder beside `target` (same file system, so the final rename
/// is atomic), named after it and this process.
public func makeStagingDirectory(for target: URL) throws -> URL {
    removeStaleStaging(in: target.deletingLastPathComponent())
    let staging = target.deletingLastPathComponent()
        .appendingPathComponent(".\(target.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.removeItem(at: staging)
    try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
    return staging
}

/// Moves `staging` to `target`; an existing `target` is moved aside first and
/// removed only after the new folder is in place.
public func replaceDirectory(_ target: URL, with staging: URL) throws {
    let fm = FileManager.default
    let backup = target.deletingLastPathComponent().appendingPathComponent(
        ".\(target.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
    let hadTarget = fm.fileExists(atPath: target.path)
    if hadTarget { try fm.moveItem(at: target, to: backup) }
    do { try fm.moveItem(at: staging, to: target) } catch {
        if hadTarget { try? fm.moveItem(at: backup, to: target) }
        throw error
    }
    if hadTarget { try? fm.removeItem(at: backup) }
    removeStaleStaging(in: target.deletingLastPathComponent())
}

/// Cleans what killed writers left in `folder`: staging folders
/// (`.NAME.partial-PID`) are removed, and a moved-aside folder
/// (`.NAME.old-PID`) goes back to NAME if the kill came before the new one
/// took its place, else is removed. Only folders of processes no longer
/// running are touched, so concurrent writers keep theirs.
public func removeStaleStaging(in folder: URL) {
    let fm = FileManager.default
    guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { return }
    for name in names where name.hasPrefix(".") {
        let parts = name.dropFirst().split(separator: "-")
        guard let last = parts.last, let pid = Int32(last), parts.count >= 2 else { continue }
        let stem = parts.dropLast().joined(separator: "-")
        let isStaging = stem.hasSuffix(".partial")
        guard isStaging || stem.hasSuffix(".old") else { continue }
        guard pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
        let item = folder.appendingPathComponent(name)
        let original = folder.appendingPathComponent(String(stem.dropLast(isStaging ? ".partial".count : ".old".count)))
        if !isStaging, !fm.fileExists(atPath: original.path), (try? fm.moveItem(at: item, to: original)) != nil { continue }
        try? fm.removeItem(at: item)
    }
}
