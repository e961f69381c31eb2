import Engine
import Foundation
import Generation
import Models

/// A model file opened for a command: the decoder's weights prepared for
/// inference.
struct LoadedModel {
    let location: URL
    let decoder: Decoder
    let inference: InferenceModel

    init(_ location: URL) throws {
        self.location = location
        decoder = location.pathExtension == "gguf"
            ? try Decoder(gguf: GGUFFile(contentsOf: location))
            : try Decoder(huggingFaceFolder: location)
        inference = try InferenceModel(decoder)
    }
}
