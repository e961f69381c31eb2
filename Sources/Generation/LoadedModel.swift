import Engine
import Foundation
import Models
import Tokenizers

/// Everything a command needs from one model file or folder: the decoder,
/// its tokenizer and chat format, and the decoder prepared for inference.
public struct LoadedModel: @unchecked Sendable {
    public let location: URL
    public let decoder: Decoder
    public let tokenizer: BPETokenizer
    public let chatTemplate: ChatTemplate
    public let inference: InferenceModel?

    /// Opens a `.gguf` file or a Hugging Face folder (which must hold a
    /// `tokenizer.json`). `prepareInference: false` skips packing the weights
    /// (for conversions).
    public init(_ location: URL, prepareInference: Bool = true) throws {
        self.location = location
        decoder = try Decoder(contentsOf: location)
        tokenizer = try BPETokenizer(contentsOf: location)
        chatTemplate = ChatTemplate(source: tokenizer.chatTemplateSource)
        inference = prepareInference ? try InferenceModel(decoder) : nil
    }

    /// Token ids that end an assistant reply: end of sequence and the chat
    /// format's end-of-turn token.
    public var stopTokens: Set<Int32> {
        var stops = Set([tokenizer.eosTokenID].compactMap { $0 })
        if let end = chatTemplate.endOfTurn, let id = tokenizer.id(for: end) { stops.insert(id) }
        return stops
    }

    /// The tokenizer's Hugging Face files (converted from the GGUF metadata
    /// for a `.gguf`), for a model saved from this one to carry.
    public func tokenizerFiles() throws -> [String: Data] {
        try tokenizerSideFiles(of: location, maxPositions: decoder.config.maxPositions)
    }

    /// Instructions as the model reads them: one user turn (after `system`,
    /// when given) through its chat template when it has one, raw otherwise.
    public func instructionTokens(_ text: String, system: String? = nil) -> [Int32] {
        promptTokens(text, chat: chatTemplate.format != .raw, system: system)
    }

    /// The prompt's token ids: a chat conversation rendered with the model's
    /// template (its special tokens are written in the text), or raw text.
    public func promptTokens(_ text: String, chat: Bool, system: String? = nil) -> [Int32] {
        guard chat else { return tokenizer.encode(text, addSpecialTokens: true) }
        return chatTokens((system.map { [ChatMessage.system($0)] } ?? []) + [.user(text)])
    }

    /// A conversation rendered with the model's template, ready for the
    /// assistant's turn (its special tokens are written in the text).
    public func chatTokens(_ messages: [ChatMessage]) -> [Int32] {
        tokenizer.encode(chatTemplate.render(messages), addSpecialTokens: false)
    }
}

/// The tokenizer files of the model at `location`: a Hugging Face folder's
/// side files as they are, or a `.gguf`'s vocabulary converted.
public func tokenizerSideFiles(of location: URL, maxPositions: Int) throws -> [String: Data] {
    if location.pathExtension == "gguf" {
        return try BPETokenizer.huggingFaceFiles(ggufMetadata: GGUFFile(contentsOf: location).metadata, maxLength: maxPositions)
    }
    var files: [String: Data] = [:]
    for name in huggingFaceSideFiles {
        if let data = try? Data(contentsOf: location.appendingPathComponent(name)) { files[name] = data }
    }
    return files
}
