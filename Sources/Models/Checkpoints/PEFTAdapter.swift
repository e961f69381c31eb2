import Engine
import Foundation
import Support

/// LoRA adapters in Hugging Face PEFT's layout: `adapter_config.json` and
/// `adapter_model.safetensors` with tensors named
/// `base_model.model.<weight path>.lora_A.weight` (`[r, in]`) and `.lora_B.weight`
/// (`[out, r]`), which `peft.PeftModel.from_pretrained` loads onto the base model.
extension Decoder {
    static let peftPrefix = "base_model.model."

    public func saveLoRAAdapter(to folder: URL, baseModel: String) throws {
        guard let loraConfig, !adapters.isEmpty else {
            throw InvalidInput(place: "saveLoRAAdapter", problem: "the decoder has no adapters")
        }
        let staging = try makeStagingDirectory(for: folder)
        var archive = TensorArchive()
        for parameter in adapterParameters { archive.tensors[Self.peftPrefix + parameter.name] = parameter.value }
        try archive.write(to: staging.appendingPathComponent("adapter_model.safetensors"))
        var config: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": loraConfig.rank, "lora_alpha": loraConfig.alpha,
            "target_modules": loraConfig.targets, "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": false,
            "inference_mode": true, "base_model_name_or_path": baseModel,
        ]
        if loraConfig.layers > 0 { config["layers_to_transform"] = Array(loraConfig.adaptedLayers(of: layers.count)) }
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: staging.appendingPathComponent("adapter_config.json"))
        try replaceDirectory(folder, with: staging)
    }

    /// Attaches the adapters a PEFT folder holds (replacing none: the decoder
    /// must have none yet).
    public func loadLoRAAdapter(from folder: URL) throws {
        let op = "loadLoRAAdapter \(folder.path)"
        let configURL = folder.appendingPathComponent("adapter_config.json")
        guard let data = try? Data(contentsOf: configURL),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let rank = object["r"] as? Int, let alpha = (object["lora_alpha"] as? NSNumber)?.doubleValue,
            let targets = object["target_modules"] as? [String]
        else {
            throw InvalidInput(place: op, problem: "adapter_config.json is missing or lacks r, lora_alpha, target_modules")
        }
        // PEFT's `layers_to_transform`: this project adapts a top range only.
        let adapted = (object["layers_to_transform"] as? [Int]) ?? []
        try check(
            adapted.isEmpty || adapted == Array(layers.count - adapted.count..<layers.count), op,
            "layers_to_transform must be the top layers of the \(layers.count); got \(adapted)")
        try attachLoRA(LoRAConfig(rank: rank, alpha: alpha, targets: targets, layers: adapted.count), seed: 0)
        let archive = try TensorArchive(contentsOf: folder.appendingPathComponent("adapter_model.safetensors"))
        for parameter in adapterParameters {
            guard let tensor = archive.tensors[Self.peftPrefix + parameter.name] else {
                throw InvalidInput(place: op, problem: "no tensor \(Self.peftPrefix + parameter.name)")
            }
            try check(
                tensor.shape == parameter.shape, op,
                "\(parameter.name) is \(describe(tensor.shape)), rank \(rank) needs \(describe(parameter.shape))")
            parameter.value.pointer.update(from: tensor.pointer, count: tensor.count)
        }
    }

    /// Folds every adapter into its weight and removes the adapters, leaving
    /// a plain decoder (whose weights are trainable again) to save as a full
    /// Hugging Face checkpoint.
    public func mergeLoRA() {
        for weight in parameters {
            guard let adapter = adapters[weight.name] else { continue }
            let delta = adapter.delta()
            withExtendedLifetime(delta) { VectorMath.axpy(1, delta.pointer, weight.value.pointer, weight.value.count) }
        }
        adapters = [:]
        loraConfig = nil
        parameters.forEach { $0.requiresGrad = true }
    }
}
