/// The character classes the pre-tokenizer regexes distinguish, one per scalar.
///
/// Hugging Face runs those regexes with Oniguruma, where `\p{L}` and `\p{N}` are
/// the Unicode general categories L* and N*, and `\s` is the White_Space property;
/// `\r`, `\n` and the space character also appear literally, so they get their
/// own classes. The classes are disjoint: White_Space has no letters or numbers.
enum ScalarClass: UInt8 {
    case letter, number, space, newline, whitespace, other

    /// `\s`
    var isWhitespace: Bool { self == .space || self == .newline || self == .whitespace }

    @inline(__always)
    init(_ value: UInt32) {
        self = value < 0x10000 ? ScalarClass.basicPlane[Int(value)] : ScalarClass(looking: value)
    }

    /// Looking properties up costs more than the rest of pre-tokenization, so
    /// the Basic Multilingual Plane is classified once, in a 64 KiB table.
    private static let basicPlane: [ScalarClass] = (0..<0x10000).map { ScalarClass(looking: UInt32($0)) }

    private init(looking value: UInt32) {
        if value < 0x80 {
            self = ScalarClass.ascii[Int(value)]
            return
        }
        // Surrogate code points are no scalars and never reach here from a String.
        guard let scalar = Unicode.Scalar(value) else {
            self = .other
            return
        }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = properties.isWhitespace ? .whitespace : .other
        }
    }

    private static let ascii: [ScalarClass] = (0..<128).map { (value: UInt8) -> ScalarClass in
        switch value {
        case UInt8(ascii: "\r"), UInt8(ascii: "\n"): return .newline
        case UInt8(ascii: " "): return .space
        case 0x09, 0x0B, 0x0C: return .whitespace
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        default: return .other
        }
    }
}

/// Reads the scalars of valid UTF-8 (text that came from a Swift `String`) by
/// byte offset, so that pieces can be reported as byte ranges without copying.
struct UTF8Scanner {
    let bytes: UnsafeBufferPointer<UInt8>

    var end: Int { bytes.count }

    /// The scalar starting at byte `i` and the offset of the next one.
    @inline(__always)
    func scalar(at i: Int) -> (value: UInt32, next: Int) {
        let lead = UInt32(bytes[i])
        if lead < 0x80 { return (lead, i + 1) }
        if lead < 0xE0 { return ((lead & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F), i + 2) }
        if lead < 0xF0 {
            return ((lead & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F), i + 3)
        }
        return (
            (lead & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                | UInt32(bytes[i + 3] & 0x3F), i + 4
        )
    }

    @inline(__always)
    func classified(at i: Int) -> (class: ScalarClass, next: Int) {
        let (value, next) = scalar(at: i)
        return (ScalarClass(value), next)
    }

    /// Where the run of scalars that `matches` accepts, starting at `i`, ends.
    @inline(__always)
    func run(from i: Int, until limit: Int, while matches: (ScalarClass) -> Bool) -> Int {
        var i = i
        while i < limit {
            let (kind, next) = classified(at: i)
            if !matches(kind) { break }
            i = next
        }
        return i
    }
}
