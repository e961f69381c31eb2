/// The splitting regexes of the supported tokenizers, each implemented by hand.
///
/// A general regex engine is not needed for three fixed patterns, and Swift
/// `Regex` is far too slow for encoding. Each splitter walks the alternatives of
/// its regex in order at every position, as a backtracking engine would, and the
/// comments show which alternative a branch stands for.
enum SplitPattern: Sendable, Equatable, CaseIterable {
    /// GPT-2, and the regex of Hugging Face's `ByteLevel(use_regex: true)`.
    case gpt2
    /// Llama-3: numbers in groups of up to three digits.
    case llama3
    /// Qwen2: the Llama-3 pattern with single digits.
    case qwen2

    /// The regex as tokenizer.json writes it.
    var regex: String {
        switch self {
        case .gpt2: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        case .llama3:
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        case .qwen2: #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
    }

    init?(regex: String) {
        guard let known = Self.allCases.first(where: { $0.regex == regex }) else { return nil }
        self = known
    }

    func split(_ text: UTF8Scanner, _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        switch self {
        case .gpt2: Self.splitGPT2(text, range, into: &pieces)
        case .llama3: Self.splitLlama3(text, range, maxDigits: 3, into: &pieces)
        case .qwen2: Self.splitLlama3(text, range, maxDigits: 1, into: &pieces)
        }
    }

    private static func splitGPT2(_ text: UTF8Scanner, _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        var start = range.lowerBound
        while start < range.upperBound {
            let end: Int
            if let contraction = contractionEnd(text, start, range.upperBound, caseInsensitive: false) {
                end = contraction
            } else {
                // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: a space joins the run after it.
                var (kind, body) = text.classified(at: start)
                if kind == .space, body < range.upperBound {
                    let following = text.classified(at: body)
                    if !following.class.isWhitespace { (kind, body) = following }
                }
                switch kind {
                case .letter, .number, .other: end = text.run(from: body, until: range.upperBound) { $0 == kind }
                default: end = whitespaceEnd(text, start, range.upperBound)
                }
            }
            pieces.append(start..<end)
            start = end
        }
    }

    private static func splitLlama3(
        _ text: UTF8Scanner, _ range: Range<Int>, maxDigits: Int,
        into pieces: inout [Range<Int>]
    ) {
        let limit = range.upperBound
        var start = range.lowerBound
        while start < limit {
            var end: Int
            let (kind, next) = text.classified(at: start)
            let following = next < limit ? text.classified(at: next) : nil
            if let contraction = contractionEnd(text, start, limit, caseInsensitive: true) {
                end = contraction
            } else if kind == .letter {
                // `[^\r\n\p{L}\p{N}]?\p{L}+` without its optional lead
                end = text.run(from: next, until: limit) { $0 == .letter }
            } else if kind != .newline, kind != .number, let following, following.class == .letter {
                // `[^\r\n\p{L}\p{N}]?\p{L}+`: any other scalar, a space or a
                // bracket alike, leads the word after it.
                end = text.run(from: following.next, until: limit) { $0 == .letter }
            } else if kind == .number {
                // `\p{N}{1,3}` or `\p{N}`
                end = next
                for _ in 1..<maxDigits where end < limit {
                    let digit = text.classified(at: end)
                    guard digit.class == .number else { break }
                    end = digit.next
                }
            } else if kind == .other || (kind == .space && following?.class == .other) {
                // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
                end = text.run(from: kind == .other ? next : following!.next, until: limit) { $0 == .other }
                end = text.run(from: end, until: limit) { $0 == .newline }
            } else {
                // `\s*[\r\n]+`: whitespace up to and including its last line break;
                // `\s+(?!\S)|\s+` when it has none.
                end = start
                var afterLastNewline: Int?
                while end < limit {
                    let (scalar, after) = text.classified(at: end)
                    guard scalar.isWhitespace else { break }
                    if scalar == .newline { afterLastNewline = after }
                    end = after
                }
                end = afterLastNewline ?? whitespaceEnd(text, start, limit)
            }
            pieces.append(start..<end)
            start = end
        }
    }

    /// `\s+(?!\S)|\s+` at `start`: the whitespace run, less its last scalar when
    /// something other than whitespace follows, so that scalar can lead the next
    /// piece (the space of " word"). A single whitespace scalar stands alone.
    private static func whitespaceEnd(_ text: UTF8Scanner, _ start: Int, _ limit: Int) -> Int {
        var end = start
        var last = start
        while end < limit {
            let (kind, next) = text.classified(at: end)
            guard kind.isWhitespace else { break }
            last = end
            end = next
        }
        return end == limit || last == start ? end : last
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d`, optionally ignoring case as Oniguruma's `(?i:…)`
    /// does, where the long s (ſ, U+017F) folds to s.
    private static func contractionEnd(
        _ text: UTF8Scanner, _ start: Int, _ limit: Int,
        caseInsensitive: Bool
    ) -> Int? {
        guard text.bytes[start] == UInt8(ascii: "'") else { return nil }
        func letter(at i: Int) -> (UInt32, Int)? {
            guard i < limit else { return nil }
            let (value, next) = text.scalar(at: i)
            guard caseInsensitive else { return (value, next) }
            if value == 0x17F { return (UInt32(UInt8(ascii: "s")), next) }
            let isUpper = value >= UInt32(UInt8(ascii: "A")) && value <= UInt32(UInt8(ascii: "Z"))
            return (isUpper ? value + 32 : value, next)
        }
        guard let (first, afterFirst) = letter(at: start + 1) else { return nil }
        switch Unicode.Scalar(first) {
        case "s", "t", "m", "d": return afterFirst
        case "r", "v", "l":
            let second: Unicode.Scalar = first == UInt32(UInt8(ascii: "l")) ? "l" : "e"
            guard let (value, afterSecond) = letter(at: afterFirst), value == second.value else { return nil }
            return afterSecond
        default: return nil
        }
    }
}

/// The pre-tokenization of a tokenizer: pieces of text that BPE encodes
/// independently. Steps apply in order, each to every piece of the one before,
/// as in a Hugging Face `Sequence`.
struct PreTokenizer: Sendable, Equatable {
    enum Step: Sendable, Equatable {
        /// Hugging Face `Digits`: numbers apart from the rest, one piece per digit
        /// or one per run of digits. A digit is any N* scalar, as Rust's
        /// `char::is_numeric`.
        case digits(individually: Bool)
        case split(SplitPattern)
    }

    var steps: [Step]
    /// `ByteLevel(add_prefix_space: true)`: text that does not start with a space
    /// is encoded as if it did, so a first word gets the same ids as later ones.
    var addsPrefixSpace = false

    /// Replaces `pieces` with the byte ranges of `text`'s pieces, in order;
    /// `scratch` holds the pieces of the previous step.
    func split(_ text: UTF8Scanner, into pieces: inout [Range<Int>], scratch: inout [Range<Int>]) {
        pieces.removeAll(keepingCapacity: true)
        if text.end > 0 { pieces.append(0..<text.end) }
        for step in steps {
            swap(&pieces, &scratch)
            pieces.removeAll(keepingCapacity: true)
            for range in scratch {
                switch step {
                case let .split(pattern): pattern.split(text, range, into: &pieces)
                case let .digits(individually): Self.splitDigits(text, range, individually: individually, into: &pieces)
                }
            }
        }
    }

    private static func splitDigits(
        _ text: UTF8Scanner, _ range: Range<Int>, individually: Bool,
        into pieces: inout [Range<Int>]
    ) {
        var start = range.lowerBound
        while start < range.upperBound {
            let (kind, next) = text.classified(at: start)
            let end =
                kind == .number
                ? (individually ? next : text.run(from: next, until: range.upperBound) { $0 == .number })
                : text.run(from: next, until: range.upperBound) { $0 != .number }
            pieces.append(start..<end)
            start = end
        }
    }
}
