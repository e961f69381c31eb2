import Engine
import Foundation
import Generation
import Models
import Training

/// Supervised fine-tuning of a loaded model into a new model folder: the
/// simulator's tuning and the policy's cold start. Every weight trains, or
/// LoRA adapters that are merged into the saved weights, so the folder is a
/// plain Hugging Face model (with the base's tokenizer) that `sim:PATH`,
/// `policy.model` and `models export` take.
@discardableResult
public func fineTune(
    _ examples: [SupervisedExample], base: LoadedModel, lora: LoRAConfig?, config: SupervisedConfig, to folder: URL,
    progress: (_ step: Int, _ loss: Double) throws -> Void = { _, _ in }
) throws -> [Double] {
    let decoder = try Decoder(config: base.decoder.config, weights: base.decoder.namedWeights())
    if let lora { try decoder.attachLoRA(lora, seed: config.seed &+ 1) }
    let losses = try supervisedFineTune(decoder, on: examples, config: config, progress: progress)
    try decoder.saveHuggingFace(
        to: folder, storage: .bf16, bosTokenID: base.tokenizer.bosTokenID, eosTokenID: base.tokenizer.eosTokenID,
        extraFiles: try base.tokenizerFiles())
    return losses
}
