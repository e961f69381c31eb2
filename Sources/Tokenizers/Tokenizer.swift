/// Text to token ids and back, as the model that owns the vocabulary expects.
///
/// Implementations are immutable values, so one tokenizer can be shared by every
/// task that encodes or decodes concurrently.
public protocol Tokenizer: Sendable {
    /// One past the highest token id: the number of embedding rows the ids need.
    var vocabularySize: Int { get }
    var bosTokenID: Int32? { get }
    var eosTokenID: Int32? { get }
    /// Ids that `decode(_:skipSpecialTokens: true)` leaves out.
    var specialTokenIDs: Set<Int32> { get }
    /// The Jinja chat template shipped with the tokenizer, unparsed, so that a
    /// prompt builder can tell which chat format the model was trained on.
    var chatTemplateSource: String? { get }

    /// `addSpecialTokens` adds what the tokenizer's post-processing adds around
    /// a sequence (a BOS id for Llama-3, nothing for Qwen). Special tokens
    /// written in the text are recognised either way.
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int32]
    /// Ids outside the vocabulary are ignored; byte sequences that are not
    /// valid UTF-8 (a token boundary inside a character) become U+FFFD.
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String
    func id(for token: String) -> Int32?
    func token(for id: Int32) -> String?
}

extension Tokenizer {
    public func encode(_ text: String) -> [Int32] { encode(text, addSpecialTokens: true) }
    public func decode(_ ids: [Int32]) -> String { decode(ids, skipSpecialTokens: false) }
}

/// A tokenizer file that cannot be used: malformed, truncated, inconsistent, or
/// asking for a feature this implementation does not have. The message names the
/// file part at fault.
public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
