/// A token matched whole in the text before pre-tokenization, such as
/// `<|im_start|>` or `<think>`, with Hugging Face's `AddedToken` options.
public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int32
    /// Left out by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool
    /// Matches only where no word character (letter, digit, mark, "_") touches
    /// it on either side.
    public var singleWord = false
    /// Takes the whitespace before it (`lstrip`) or after it (`rstrip`) into the token.
    public var stripsLeft = false
    public var stripsRight = false
    /// Matched in the normalized text rather than the raw text.
    public var normalized = false

    public init(
        content: String, id: Int32, special: Bool, singleWord: Bool = false,
        stripsLeft: Bool = false, stripsRight: Bool = false, normalized: Bool = false
    ) {
        self.content = content
        self.id = id
        self.special = special
        self.singleWord = singleWord
        self.stripsLeft = stripsLeft
        self.stripsRight = stripsRight
        self.normalized = normalized
    }
}

/// Finds added tokens in text the way Hugging Face's added vocabulary does: the
/// leftmost match wins, the longest token among those starting there, and the
/// search resumes after it.
struct AddedTokenMatcher: Sendable {
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private let tokens: [AddedToken]
    private let contents: [[UInt8]]
    /// Indices into `tokens` by first byte, longest content first.
    private let candidates: [[Int]]

    var isEmpty: Bool { tokens.isEmpty }

    init(_ tokens: [AddedToken]) {
        let kept = tokens.filter { !$0.content.isEmpty }
        self.tokens = kept
        let contents = kept.map { Array($0.content.utf8) }
        var candidates = [[Int]](repeating: [], count: 256)
        for index in kept.indices { candidates[Int(contents[index][0])].append(index) }
        self.contents = contents
        self.candidates = candidates.map { list in list.sorted { (contents[$0].count, $1) > (contents[$1].count, $0) } }
    }

    func segments(of text: UnsafeBufferPointer<UInt8>) -> [Segment] {
        var segments: [Segment] = []
        var consumed = 0
        var position = 0
        while position < text.count {
            guard let index = longestMatch(in: text, at: position) else {
                position += 1
                continue
            }
            let token = tokens[index]
            var start = position
            var end = position + contents[index].count
            position = end
            let scanner = UTF8Scanner(bytes: text)
            if token.singleWord
                && (Self.wordScalar(endingAt: start, scanner) || Self.wordScalar(startingAt: end, scanner))
            {
                continue
            }
            if token.stripsLeft { start = max(Self.whitespaceRunStart(before: start, scanner), consumed) }
            if token.stripsRight { end = scanner.run(from: end, until: text.count) { $0.isWhitespace } }
            if start > consumed { segments.append(.text(consumed..<start)) }
            segments.append(.token(token.id))
            consumed = end
            position = end
        }
        if consumed < text.count || text.isEmpty { segments.append(.text(consumed..<text.count)) }
        return segments
    }

    private func longestMatch(in text: UnsafeBufferPointer<UInt8>, at position: Int) -> Int? {
        candidates[Int(text[position])].first { index in
            let content = contents[index]
            guard position + content.count <= text.count else { return false }
            for offset in 1..<content.count where text[position + offset] != content[offset] { return false }
            return true
        }
    }

    /// The `\w` of Rust's `regex`, which `single_word` tests the scalars around a
    /// match with: Alphabetic, a mark, a decimal digit, connector punctuation
    /// ("_") or a joiner (ZWJ).
    private static func isWordScalar(_ value: UInt32) -> Bool {
        let properties = Unicode.Scalar(value)!.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return properties.isAlphabetic || properties.isJoinControl
        }
    }

    private static func wordScalar(startingAt i: Int, _ text: UTF8Scanner) -> Bool {
        i < text.end && isWordScalar(text.scalar(at: i).value)
    }

    private static func wordScalar(endingAt i: Int, _ text: UTF8Scanner) -> Bool {
        guard i > 0 else { return false }
        return isWordScalar(text.scalar(at: scalarStart(before: i, text)).value)
    }

    private static func whitespaceRunStart(before i: Int, _ text: UTF8Scanner) -> Int {
        var start = i
        while start > 0 {
            let previous = scalarStart(before: start, text)
            guard ScalarClass(text.scalar(at: previous).value).isWhitespace else { break }
            start = previous
        }
        return start
    }

    private static func scalarStart(before i: Int, _ text: UTF8Scanner) -> Int {
        var start = i - 1
        while text.bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return start
    }
}
