import Engine
import Foundation
import Models
import Testing

@Suite struct LoRATests {
    static let config = DecoderConfig(
        vocabSize: 40, hiddenSize: 32, intermediateSize: 48, layers: 2, heads: 4, kvHeads: 2,
        maxPositions: 64, tieEmbeddings: false, attentionBias: true)
    let tokens: [Int32] = (0..<24).map { Int32($0 * 7 % 40) }

    func logits(_ decoder: Decoder) throws -> [Float] {
        let tape = Tape.inference
        let hidden = try decoder.hiddenStates(tokens: tokens, batch: 2, tape: tape)
        let out = try tape.linear(hidden, decoder.outputWeight)
        return Array(UnsafeBufferPointer(start: out.value.pointer, count: out.value.count))
    }

    func adapted(seed: UInt64 = 3) throws -> Decoder {
        let decoder = try Decoder(config: Self.config, seed: 1, std: 0.2)
        try decoder.attachLoRA(LoRAConfig(rank: 4, alpha: 8, targets: ["q_proj", "v_proj", "down_proj"]), seed: seed)
        var rng = RandomGenerator(seed: seed)
        for parameter in decoder.adapterParameters where parameter.name.contains("lora_B") {
            let values = rng.normalTensor(parameter.shape, std: 0.3)
            withExtendedLifetime(values) { parameter.value.pointer.update(from: values.pointer, count: values.count) }
        }
        return decoder
    }

    @Test func startsAsTheBaseAndTrainsOnlyTheAdapters() throws {
        let base = try Decoder(config: Self.config, seed: 1, std: 0.2)
        let decoder = try Decoder(config: Self.config, seed: 1, std: 0.2)
        try decoder.attachLoRA(LoRAConfig(rank: 4, alpha: 8), seed: 0)
        #expect(try logits(decoder) == logits(base), "B starts at zero")
        #expect(decoder.trainableParameters.count == 2 * 4 * 2)
        #expect(decoder.parameters.allSatisfy { !$0.requiresGrad })
        let tape = Tape()
        try tape.backward(decoder.languageModelingLoss(tokens: tokens, batch: 2, tape: tape))
        #expect(decoder.parameters.allSatisfy { $0.grad == nil })
        #expect(decoder.adapterParameters.contains { $0.grad != nil })
    }

    @Test func disablingGivesTheBaseBackAndMergingKeepsTheFunction() throws {
        let decoder = try adapted()
        let base = try Decoder(config: Self.config, seed: 1, std: 0.2)
        let withAdapters = try logits(decoder)
        #expect(withAdapters != (try logits(base)))
        decoder.adaptersEnabled = false
        #expect(try logits(decoder) == logits(base))
        decoder.adaptersEnabled = true
        decoder.mergeLoRA()
        #expect(decoder.adapters.isEmpty)
        let merged = try logits(decoder)
        #expect(zip(merged, withAdapters).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
    }

    @Test func peftFolderRoundTrips() throws {
        let decoder = try adapted()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-peft-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try decoder.saveLoRAAdapter(to: folder, baseModel: "tiny")
        let archive = try TensorArchive(contentsOf: folder.appendingPathComponent("adapter_model.safetensors"))
        #expect(archive.tensors.keys.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"))
        #expect(archive.tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]?.shape == [4, 32])
        let config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("adapter_config.json"))) as! [String: Any]
        #expect(config["r"] as? Int == 4 && config["peft_type"] as? String == "LORA")

        let reloaded = try Decoder(config: Self.config, seed: 1, std: 0.2)
        try reloaded.loadLoRAAdapter(from: folder)
        #expect(try logits(reloaded) == logits(decoder))
    }

    @Test func topLayerAdaptersStopTheBackwardPassBelowThem() throws {
        func recorded(_ lora: LoRAConfig) throws -> (entries: Int, decoder: Decoder) {
            let decoder = try Decoder(config: Self.config, seed: 1, std: 0.2)
            try decoder.attachLoRA(lora, seed: 0)
            let tape = Tape()
            let loss = try decoder.languageModelingLoss(tokens: tokens, batch: 2, tape: tape)
            let entries = tape.count
            try tape.backward(loss)
            return (entries, decoder)
        }
        let every = try recorded(LoRAConfig(rank: 4, alpha: 8))
        let top = try recorded(LoRAConfig(rank: 4, alpha: 8, layers: 1))
        #expect(Set(top.decoder.adapters.keys.map { $0.components(separatedBy: ".")[2] }) == ["1"])
        #expect(top.decoder.adapterParameters.allSatisfy { $0.grad != nil })
        #expect(top.entries < every.entries, "layer 0 is not taped: nothing below the adapters needs a gradient")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-peft-top-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try top.decoder.saveLoRAAdapter(to: folder, baseModel: "tiny")
        let config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("adapter_config.json"))) as! [String: Any]
        #expect(config["layers_to_transform"] as? [Int] == [1])
        let reloaded = try Decoder(config: Self.config, seed: 1, std: 0.2)
        try reloaded.loadLoRAAdapter(from: folder)
        #expect(reloaded.loraConfig?.layers == 1 && Set(reloaded.adapters.keys) == Set(top.decoder.adapters.keys))
    }

    /// Stopping the backward pass below the lowest adapter loses nothing:
    /// the top layer's adapters get the gradients a full backward gives them
    /// (the full one here has adapters on every layer, the lower ones at
    /// B = 0, so that both compute the same function).
    @Test func theShortBackwardGivesTheFullBackwardsGradients() throws {
        let top = try Decoder(config: Self.config, seed: 1, std: 0.2)
        try top.attachLoRA(LoRAConfig(rank: 4, alpha: 8, layers: 1), seed: 5)
        var rng = RandomGenerator(seed: 9)
        for parameter in top.adapterParameters where parameter.name.contains("lora_B") {
            let values = rng.normalTensor(parameter.shape, std: 0.3)
            withExtendedLifetime(values) { parameter.value.pointer.update(from: values.pointer, count: values.count) }
        }
        let full = try Decoder(config: Self.config, seed: 1, std: 0.2)
        try full.attachLoRA(LoRAConfig(rank: 4, alpha: 8), seed: 6)
        let topValues = Dictionary(uniqueKeysWithValues: top.adapterParameters.map { ($0.name, $0.value) })
        for parameter in full.adapterParameters {
            if let value = topValues[parameter.name] {
                parameter.value.pointer.update(from: value.pointer, count: value.count)
            } else if parameter.name.contains("lora_B") {
                #expect(parameter.value.scalars.allSatisfy { $0 == 0 }, "a lower adapter starts as the identity")
            }
        }
        #expect(try logits(full) == logits(top))
        for decoder in [top, full] {
            let tape = Tape()
            try tape.backward(decoder.languageModelingLoss(tokens: tokens, batch: 2, tape: tape))
        }
        let fullGradients = Dictionary(uniqueKeysWithValues: full.adapterParameters.map { ($0.name, $0.grad) })
        for parameter in top.adapterParameters {
            let short = try #require(parameter.grad?.scalars, "\(parameter.name)")
            let reference = try #require(fullGradients[parameter.name]??.scalars, "\(parameter.name)")
            let largest = zip(short, reference).map { abs($0 - $1) }.max() ?? 0
            #expect(largest <= 1e-5 * max(1, reference.map(abs).max() ?? 0), "\(parameter.name): differs by \(largest)")
        }
        #expect(top.adapterParameters.contains { $0.grad!.scalars.contains { $0 != 0 } }, "gradients that are all zero prove nothing")
    }

    @Test func badSettingsAndFilesAreRefused() throws {
        let decoder = try Decoder(config: Self.config, seed: 1)
        #expect(throws: (any Error).self) { try decoder.attachLoRA(LoRAConfig(rank: 0), seed: 0) }
        #expect(throws: (any Error).self) { try decoder.attachLoRA(LoRAConfig(targets: ["qkv"]), seed: 0) }
        #expect(throws: (any Error).self) { try decoder.attachLoRA(LoRAConfig(layers: -1), seed: 0) }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-peft-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: (any Error).self) { try decoder.loadLoRAAdapter(from: empty) }
    }
}
