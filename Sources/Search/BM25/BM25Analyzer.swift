/// Turns text into index terms, the same way for passages and queries.
///
/// Lucene-like, close to `StandardAnalyzer` + `EnglishAnalyzer`'s stop set but
/// simpler, so that it can be reproduced exactly with the Python `bm25s`
/// package the benchmark compares against:
/// 1. lower-case every Unicode scalar with its full mapping (`İ` becomes `i` +
///    U+0307), before splitting, as Python's `str.lower()` does;
/// 2. split on every scalar that is not a letter (L*) or a number (N*), so
///    `don't` is `don`, `t` and `3.14` is `3`, `14` (Lucene's
///    `StandardTokenizer` keeps those whole; the difference costs little on
///    prose and buys an exact reference). Combining marks split too, as in
///    Python's `\w`; NFC text has few of them;
/// 3. drop Lucene's classic English stop words (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`,
///    33 words, equal to bm25s' `stopwords="en"`);
/// 4. no stemming: Search-R1's wiki retriever (Pyserini's default) stems with
///    Porter, but a stemmer is a large piece of code to match byte for byte and
///    the simulated-search setting only needs a sane lexical baseline.
///
/// The bm25s equivalent is `bm25s.tokenize(texts, lower=True,
/// token_pattern=r"(?u)[^\W_]+", stopwords="en")` (its default pattern
/// `\w\w+` would drop one-character tokens and keep `_`). Python lower-cases a
/// final capital sigma to `ς` from context; here every `Σ` becomes `σ`.
public struct BM25Analyzer: Sendable {
    public static let englishStopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with",
    ]

    public let stopWords: Set<String>
    /// Longer terms skip the stop-word lookup, one of the two hashes per term.
    private let longestStopWord: Int

    public init(stopWords: Set<String> = BM25Analyzer.englishStopWords) {
        self.stopWords = stopWords
        longestStopWord = stopWords.map(\.utf8.count).max() ?? 0
    }

    /// The terms of `text`, in order, stop words removed.
    public func terms(_ text: String) -> [String] {
        var terms: [String] = []
        forEachTerm(in: text) { terms.append($0) }
        return terms
    }

    /// Calls `body` with each term of `text`; indexing uses this to skip the array.
    public func forEachTerm(in text: String, _ body: (String) -> Void) {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(32)
        func flush() {
            guard !buffer.isEmpty else { return }
            let term = String(decoding: buffer, as: UTF8.self)
            let candidate = buffer.count <= longestStopWord
            buffer.removeAll(keepingCapacity: true)
            if !(candidate && stopWords.contains(term)) { body(term) }
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            // ASCII is nearly all of the bytes in English text: a table-free fast path.
            if value < 0x80 {
                let byte = UInt8(value)
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): buffer.append(byte)
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): buffer.append(byte + 32)
                default: flush()
                }
                continue
            }
            if scalar.properties.changesWhenLowercased {
                for lower in scalar.properties.lowercaseMapping.unicodeScalars { append(lower, to: &buffer, flush: flush) }
            } else {
                append(scalar, to: &buffer, flush: flush)
            }
        }
        flush()
    }

    private func append(_ scalar: Unicode.Scalar, to buffer: inout [UInt8], flush: () -> Void) {
        if Self.isWordScalar(scalar) {
            buffer.append(contentsOf: UTF8.encode(scalar)!)
        } else {
            flush()
        }
    }

    /// Letters and numbers by general category: Python's `str.isalnum()`, which
    /// is what bm25s' `\w` (less `_`) matches.
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }
}
