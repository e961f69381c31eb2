import Engine
import Foundation
import Models
import Testing

/// Tiny random Llama and Qwen2 checkpoints against Hugging Face
/// `transformers` (scripts/fixtures/make_tiny_models.py): the HF folder and
/// the same weights as GGUF must give transformers' logits.
@Suite struct CheckpointTests {
    struct Reference {
        let tokens: [Int32]
        let batch: Int
        let logits: Tensor
        let ggufLogits: Tensor

        init(_ name: String) throws {
            let archive = try TensorArchive(contentsOf: fixture("\(name)_logits.safetensors"))
            let tokens = try #require(archive.tensors["tokens"])
            self.tokens = tokens.scalars.map { Int32($0) }
            batch = tokens.shape[0]
            logits = try #require(archive.tensors["logits"])
            ggufLogits = try #require(archive.tensors["gguf_logits"])
        }
    }

    static func logits(_ model: Decoder, _ reference: Reference) throws -> Tensor {
        let tape = Tape.inference
        let hidden = try model.hiddenStates(tokens: reference.tokens, batch: reference.batch, tape: tape)
        return try tape.linear(hidden, model.outputWeight).value
    }

    /// `max |ours − theirs| ≤ 1e-4 · max |theirs|`.
    static func expectMatches(_ ours: Tensor, _ theirs: Tensor, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(ours.count == theirs.count, "\(label): \(ours.count) vs \(theirs.count) logits", sourceLocation: sourceLocation)
        var gap: Float = 0
        var scale: Float = 0
        for i in 0..<min(ours.count, theirs.count) {
            gap = max(gap, abs(ours.pointer[i] - theirs.pointer[i]))
            scale = max(scale, abs(theirs.pointer[i]))
        }
        #expect(gap <= 1e-4 * scale, "\(label): max |Δ| \(gap) against max |logit| \(scale)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["tiny-llama", "tiny-qwen2"])
    func huggingFaceFolderGivesTransformersLogits(name: String) throws {
        let reference = try Reference(name)
        let model = try Decoder(huggingFaceFolder: fixture(name))
        #expect(model.config.architecture == (name == "tiny-llama" ? .llama : .qwen2))
        #expect(model.config.tieEmbeddings == (name == "tiny-qwen2"))
        #expect(model.config.attentionBias == (name == "tiny-qwen2"))
        Self.expectMatches(try Self.logits(model, reference), reference.logits, name)
    }

    @Test(arguments: ["tiny-llama", "tiny-qwen2"])
    func ggufGivesTransformersLogits(name: String) throws {
        let reference = try Reference(name)
        let model = try Decoder(gguf: GGUFFile(contentsOf: fixture("\(name).gguf")))
        Self.expectMatches(try Self.logits(model, reference), reference.ggufLogits, name + ".gguf")
    }

    /// Saving and reloading is exact, and an existing folder is replaced whole.
    @Test(arguments: ["tiny-llama", "tiny-qwen2"])
    func exportedFolderReloadsExactly(name: String) throws {
        let reference = try Reference(name)
        let model = try Decoder(huggingFaceFolder: fixture(name))
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try Data("stale".utf8).write(to: target.appendingPathComponent("stale.txt"))
        try model.saveHuggingFace(to: target, extraFiles: ["note.txt": Data("hi".utf8)])
        #expect(!FileManager.default.fileExists(atPath: target.appendingPathComponent("stale.txt").path))
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("note.txt").path))
        let reloaded = try Decoder(huggingFaceFolder: target)
        #expect(reloaded.config == model.config)
        let a = try Self.logits(model, reference)
        let b = try Self.logits(reloaded, reference)
        #expect(a.scalars == b.scalars)
    }

    @Test func shardedFoldersAreRead() throws {
        let source = try fixture("tiny-qwen2")
        let model = try Decoder(huggingFaceFolder: source)
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        var shards = [TensorArchive(), TensorArchive()]
        var map: [String: String] = [:]
        for (i, p) in model.parameters.enumerated() {
            shards[i % 2].tensors[p.name] = p.value
            map[p.name] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
        }
        for (i, shard) in shards.enumerated() {
            try shard.write(to: folder.appendingPathComponent("model-0000\(i + 1)-of-00002.safetensors"))
        }
        try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(
            to: folder.appendingPathComponent("model.safetensors.index.json"))
        let reloaded = try Decoder(huggingFaceFolder: folder)
        for (a, b) in zip(model.parameters, reloaded.parameters) { #expect(a.value.scalars == b.value.scalars, "\(a.name)") }
    }

    @Test func brokenCheckpointsGiveClearErrors() throws {
        let source = try fixture("tiny-llama")
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        func expectError(_ label: String, containing message: String, _ setUp: (URL) throws -> Void) throws {
            let case_ = folder.appendingPathComponent(label)
            try FileManager.default.copyItem(at: source, to: case_)
            try setUp(case_)
            do {
                _ = try Decoder(huggingFaceFolder: case_)
                Issue.record("\(label): loaded without error")
            } catch {
                #expect("\(error)".contains(message), "\(label): \(error)")
            }
        }
        let weights = "model.safetensors"
        try expectError("truncated", containing: "truncated or corrupt") { dir in
            let url = dir.appendingPathComponent(weights)
            let data = try Data(contentsOf: url)
            try data.prefix(data.count - 100).write(to: url)
        }
        try expectError("header", containing: "header length") { dir in
            let url = dir.appendingPathComponent(weights)
            var data = try Data(contentsOf: url)
            data[7] = 0x7F
            try data.write(to: url)
        }
        try expectError("tiny", containing: "too short") { dir in try Data([1, 2]).write(to: dir.appendingPathComponent(weights)) }
        try expectError("json", containing: "line 1, column 2") { dir in
            try Data("{oops".utf8).write(to: dir.appendingPathComponent("config.json"))
        }
        try expectError("type", containing: #"model_type "gpt_neox""#) { dir in
            try Data(#"{"model_type": "gpt_neox"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        }
        try expectError("shape", containing: "the configuration needs") { dir in
            let url = dir.appendingPathComponent("config.json")
            let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(
                of: "\"intermediate_size\": 96", with: "\"intermediate_size\": 80")
            try Data(text.utf8).write(to: url)
        }
        try expectError("missing", containing: "neither model.safetensors") { dir in
            try FileManager.default.removeItem(at: dir.appendingPathComponent(weights))
        }
        // Issue 18's config.json findings: each field refused by name before
        // anything derived from it is computed or allocated.
        let badFields: [(String, String, String)] = [
            ("\"num_attention_heads\": 4", "\"num_attention_heads\": 0", "num_attention_heads"),
            ("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 4294967295", "num_hidden_layers"),
            ("\"num_hidden_layers\": 2", "\"num_hidden_layers\": true", "num_hidden_layers"),
            ("\"max_position_embeddings\": 128", "\"max_position_embeddings\": 1099511627776", "max_position_embeddings"),
            ("\"rope_theta\": 10000.0", "\"rope_theta\": \"x\"", "rope_theta"),
            ("\"rope_theta\": 10000.0", "\"rope_theta\": null", "rope_theta"),
            ("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": -1", "rms_norm_eps"),
            ("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": 1e308", "rms_norm_eps"),
            ("\"factor\": 8.0", "\"factor\": 0", "rope_scaling.factor"),
        ]
        let configText = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        for (original, replacement, field) in badFields {
            #expect(configText.contains(original), "the fixture's config.json has \(original)")
            try expectError(field + UUID().uuidString, containing: field) { dir in
                try Data(configText.replacingOccurrences(of: original, with: replacement).utf8)
                    .write(to: dir.appendingPathComponent("config.json"))
            }
        }
    }
}
