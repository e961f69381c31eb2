/// Byte-level BPE as Hugging Face `tokenizers` runs it for GPT-2, Llama-3, Qwen2
/// and SmolLM: added tokens are cut out of the raw text, the rest is normalized,
/// split into pieces by the pre-tokenizer, and each piece's UTF-8 bytes are
/// merged into tokens.
///
/// Load one from a `tokenizer.json` (`init(tokenizerJSON:)`,
/// `init(huggingFaceFolder:)`) or from GGUF metadata (`init(ggufMetadata:)`).
public struct BPETokenizer: Tokenizer {
    public let vocabularySize: Int
    public let bosTokenID: Int32?
    public let eosTokenID: Int32?
    public let specialTokenIDs: Set<Int32>
    public let chatTemplateSource: String?

    private let encoder: BytePairEncoder
    private let tokenIDs: [String: Int32]
    /// Indexed by id; nil where no token has that id.
    private let tokens: [String?]
    /// The bytes each id decodes to: `decodedBytes[decodedOffsets[id]..<decodedOffsets[id + 1]]`.
    private let decodedBytes: [UInt8]
    private let decodedOffsets: [Int]
    private let rawTextTokens: AddedTokenMatcher
    private let normalizedTextTokens: AddedTokenMatcher
    private let normalizesToNFC: Bool
    private let preTokenizer: PreTokenizer
    private let postProcessor: PostProcessor

    /// What the loaders read from a file, before it is checked and indexed.
    struct Description {
        /// Token strings as the file spells them (in the byte-level alphabet).
        var vocabulary: [String: Int32]
        var merges: [(String, String)]
        var addedTokens: [AddedToken] = []
        var normalizesToNFC = false
        var preTokenizer: PreTokenizer
        var ignoresMerges = false
        var postProcessor = PostProcessor()
        var bosToken: String?
        var eosToken: String?
        var chatTemplate: String?
        /// Names the file in error messages: "tokenizer.json", "GGUF".
        var source: String
    }

    /// Ids added around every sequence when `addSpecialTokens` is true.
    struct PostProcessor: Equatable {
        var prefix: [Int32] = []
        var suffix: [Int32] = []
    }

    init(_ description: Description) throws {
        let source = description.source
        var tokenIDs = description.vocabulary
        var highest: Int32 = -1
        for (token, id) in tokenIDs {
            guard id >= 0 else { throw TokenizerError("\(source): token \(quoted(token)) has negative id \(id)") }
            highest = max(highest, id)
        }
        for added in description.addedTokens {
            guard added.id >= 0 else {
                throw TokenizerError("\(source): added token \(quoted(added.content)) has negative id \(added.id)")
            }
            highest = max(highest, added.id)
        }
        guard highest < 1 << 24 else { throw TokenizerError("\(source): token id \(highest) is implausibly large") }
        var tokens = [String?](repeating: nil, count: Int(highest) + 1)
        for (token, id) in tokenIDs {
            if let other = tokens[Int(id)] {
                throw TokenizerError("\(source): tokens \(quoted(other)) and \(quoted(token)) share id \(id)")
            }
            tokens[Int(id)] = token
        }
        for added in description.addedTokens {
            if let other = tokens[Int(added.id)], other != added.content {
                throw TokenizerError(
                    "\(source): added token \(quoted(added.content)) has id \(added.id), "
                        + "which the vocabulary gives to \(quoted(other))")
            }
            tokens[Int(added.id)] = added.content
            tokenIDs[added.content] = added.id
        }

        var byteIDs = [Int32](repeating: -1, count: 256)
        for byte in 0...255 { byteIDs[byte] = description.vocabulary[String(ByteLevel.scalarForByte[byte])] ?? -1 }
        var merges = MergeTable(capacity: description.merges.count)
        for (rank, (left, right)) in description.merges.enumerated() {
            guard let leftID = description.vocabulary[left], let rightID = description.vocabulary[right] else {
                let missing = description.vocabulary[left] == nil ? left : right
                throw TokenizerError(
                    "\(source): merge \(rank) (\(quoted(left)) \(quoted(right))) uses "
                        + "\(quoted(missing)), which is not in the vocabulary")
            }
            guard let mergedID = description.vocabulary[left + right] else {
                throw TokenizerError(
                    "\(source): merge \(rank) (\(quoted(left)) \(quoted(right))) makes "
                        + "\(quoted(left + right)), which is not in the vocabulary")
            }
            merges.insert(leftID, rightID, rank: UInt32(rank), merged: mergedID)
        }
        var wholePieceIDs: [[UInt8]: Int32]?
        if description.ignoresMerges {
            wholePieceIDs = [:]
            for (token, id) in description.vocabulary {
                if let bytes = ByteLevel.bytes(spelledBy: token) { wholePieceIDs![bytes] = id }
            }
        }

        var decodedBytes: [UInt8] = []
        var decodedOffsets = [0]
        decodedOffsets.reserveCapacity(tokens.count + 1)
        for token in tokens {
            // Hugging Face's ByteLevel decoder falls back to a token's own UTF-8
            // when a character is outside the byte alphabet ("<|im_start|>" is not).
            if let token { decodedBytes += ByteLevel.bytes(spelledBy: token) ?? Array(token.utf8) }
            decodedOffsets.append(decodedBytes.count)
        }

        func id(of token: String?, _ role: String) throws -> Int32? {
            guard let token else { return nil }
            guard let id = tokenIDs[token] else {
                throw TokenizerError("\(source): \(role) token \(quoted(token)) is not in the vocabulary")
            }
            return id
        }

        encoder = BytePairEncoder(byteIDs: byteIDs, merges: merges, wholePieceIDs: wholePieceIDs)
        self.tokenIDs = tokenIDs
        self.tokens = tokens
        self.decodedBytes = decodedBytes
        self.decodedOffsets = decodedOffsets
        vocabularySize = tokens.count
        rawTextTokens = AddedTokenMatcher(description.addedTokens.filter { !$0.normalized })
        normalizesToNFC = description.normalizesToNFC
        normalizedTextTokens = AddedTokenMatcher(
            description.addedTokens.filter { $0.normalized }.map {
                var token = $0
                if description.normalizesToNFC { token.content = String(decoding: token.content._nfcCodeUnits, as: UTF8.self) }
                return token
            })
        specialTokenIDs = Set(description.addedTokens.filter(\.special).map(\.id))
        preTokenizer = description.preTokenizer
        postProcessor = description.postProcessor
        bosTokenID = try id(of: description.bosToken, "BOS")
        eosTokenID = try id(of: description.eosToken, "EOS")
        chatTemplateSource = description.chatTemplate
    }

    public func id(for token: String) -> Int32? { tokenIDs[token] }

    public func token(for id: Int32) -> String? {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        var ids: [Int32] = addSpecialTokens ? postProcessor.prefix : []
        ids.reserveCapacity(text.utf8.count / 3)
        var scratch = Scratch()
        var text = text
        text.withUTF8 { raw in
            for segment in rawTextTokens.segments(of: raw) {
                switch segment {
                case let .token(id): ids.append(id)
                case let .text(range): encodeUnnormalized(UnsafeBufferPointer(rebasing: raw[range]), into: &ids, &scratch)
                }
            }
        }
        if addSpecialTokens { ids += postProcessor.suffix }
        return ids
    }

    /// Buffers reused from piece to piece, so that encoding does not allocate per word.
    private struct Scratch {
        var pieces: [Range<Int>] = []
        var previousPieces: [Range<Int>] = []
        var merges = BytePairEncoder.Scratch()
    }

    private func encodeUnnormalized(
        _ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int32],
        _ scratch: inout Scratch
    ) {
        // Scalars below U+0300 are in NFC and never compose with a neighbour, so
        // most text skips normalization. The standard library's NFC is used
        // because Foundation's on Linux garbles a supplementary-plane scalar
        // followed by a combining mark (U+10045 U+0300 became "È").
        guard normalizesToNFC, text.contains(where: { $0 >= 0xCC }) else {
            return encodeNormalized(text, into: &ids, &scratch)
        }
        String(decoding: text, as: UTF8.self)._nfcCodeUnits.withUnsafeBufferPointer {
            encodeNormalized($0, into: &ids, &scratch)
        }
    }

    private func encodeNormalized(
        _ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int32],
        _ scratch: inout Scratch
    ) {
        guard !normalizedTextTokens.isEmpty else { return encodePieces(text, into: &ids, &scratch) }
        for segment in normalizedTextTokens.segments(of: text) {
            switch segment {
            case let .token(id): ids.append(id)
            case let .text(range): encodePieces(UnsafeBufferPointer(rebasing: text[range]), into: &ids, &scratch)
            }
        }
    }

    private func encodePieces(_ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int32], _ scratch: inout Scratch) {
        withPrefixSpace(text) { text in
            preTokenizer.split(UTF8Scanner(bytes: text), into: &scratch.pieces, scratch: &scratch.previousPieces)
            for piece in scratch.pieces {
                encoder.encode(UnsafeBufferPointer(rebasing: text[piece]), into: &ids, scratch: &scratch.merges)
            }
        }
    }

    /// The pieces the pre-tokenizer cuts `text` into, each of which BPE encodes
    /// on its own: Hugging Face's `pre_tokenizer.pre_tokenize_str`, so added
    /// tokens and normalization do not apply.
    public func preTokenize(_ text: String) -> [String] {
        var text = text
        var pieces: [Range<Int>] = []
        var previous: [Range<Int>] = []
        return text.withUTF8 { bytes in
            withPrefixSpace(bytes) { text in
                preTokenizer.split(UTF8Scanner(bytes: text), into: &pieces, scratch: &previous)
                return pieces.map { String(decoding: UnsafeBufferPointer(rebasing: text[$0]), as: UTF8.self) }
            }
        }
    }

    /// `text` as the pre-tokenizer sees it: with a space in front when ByteLevel
    /// adds one. Hugging Face drops empty text before it would get the space.
    private func withPrefixSpace<Result>(
        _ text: UnsafeBufferPointer<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        guard preTokenizer.addsPrefixSpace, let first = text.first, first != UInt8(ascii: " ") else { return body(text) }
        return ([UInt8(ascii: " ")] + text).withUnsafeBufferPointer(body)
    }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where id >= 0 && Int(id) < tokens.count {
            if skipSpecialTokens && specialTokenIDs.contains(id) { continue }
            bytes += decodedBytes[decodedOffsets[Int(id)]..<decodedOffsets[Int(id) + 1]]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A token as error messages show it: quoted, with control characters escaped.
func quoted(_ token: String) -> String {
    "\"" + token.unicodeScalars.map { $0.escaped(asASCII: false) }.joined() + "\""
}
