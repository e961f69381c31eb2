/// A request's output text, decoded as its tokens arrive without decoding
/// the whole output for every token (vLLM's incremental detokenisation): each
/// token decodes the tokens not yet in the text, after the tokens of the last
/// piece added for context (a SentencePiece decoder drops a sequence's
/// leading space, a byte-level one cannot finish half a character, and both
/// are the same with and without the context, so the difference is exact).
/// Kept as Unicode scalars, so that every offset and stop-string search is
/// over what was added, not over the whole text.
public struct IncrementalText: Sendable {
    /// The text of every token whose characters are complete.
    public private(set) var scalars: [Unicode.Scalar] = []
    /// Tokens before the last piece added (its context) and before the tokens not yet in `scalars`.
    private var contextStart = 0
    private var readStart = 0

    /// Adds what the newest tokens of `tokens` (the whole output so far)
    /// complete. A token that ends in half a character waits for the next.
    public init() {}

    public mutating func update(_ tokens: [Int32], decode: ([Int32]) -> String) {
        guard let piece = unread(tokens, decode: decode), !piece.isEmpty, piece.last != "\u{FFFD}" else { return }
        scalars += piece
        contextStart = readStart
        readStart = tokens.count
    }

    /// Every scalar, the unfinished tail included (a half character as
    /// U+FFFD): the text when the output ends.
    public func final(_ tokens: [Int32], decode: ([Int32]) -> String) -> [Unicode.Scalar] {
        scalars + (unread(tokens, decode: decode) ?? [])
    }

    /// The scalars the tokens after `readStart` add to the text (the
    /// decoders here decode a sequence's start the same however it goes on).
    private func unread(_ tokens: [Int32], decode: ([Int32]) -> String) -> [Unicode.Scalar]? {
        guard tokens.count > readStart else { return nil }
        let context = decode(Array(tokens[contextStart..<readStart])).unicodeScalars.count
        return Array(decode(Array(tokens[contextStart...])).unicodeScalars.dropFirst(context))
    }
}

/// Where the first of `stops` begins in `text`, searching only where a match
/// could end at or after scalar `from` (what was added since the last search).
public func firstStop(_ stops: [[Unicode.Scalar]], in text: [Unicode.Scalar], endingFrom from: Int) -> Int? {
    var best: Int?
    for stop in stops where !stop.isEmpty {
        var start = max(0, from - stop.count + 1)
        while start + stop.count <= text.count, best.map({ start < $0 }) ?? true {
            if text[start..<start + stop.count].elementsEqual(stop) {
                best = start
                break
            }
            start += 1
        }
    }
    return best
}
