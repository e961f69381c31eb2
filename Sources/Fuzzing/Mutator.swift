import Engine

/// Seeded mutations of a real file's bytes, the kinds that reach the checks a
/// parser must make: flipped bits, cut files, length and count fields set to
/// extremes, numbers in text replaced by ones that overflow or are not
/// numbers, and nesting deep enough to overflow a recursive parser's stack.
public struct Mutator {
    var rng: RandomGenerator

    public init(seed: UInt64) { rng = RandomGenerator(seed: seed) }

    /// Integers a corrupted size field may hold: the edges of every width.
    static let extremes: [UInt64] = [
        0, 1, 0x7F, 0xFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 32, 1 << 40, 1 << 62, 0x7FFF_FFFF_FFFF_FFFF, 1 << 63, .max,
    ]
    /// What a number in a text file may be replaced with.
    static let textExtremes = [
        "-1", "0", "4294967295", "9223372036854775807", "18446744073709551616", "1e308", "-1e308", "1e-320", "NaN", ".nan",
        ".inf", "-.inf", "true", "null", "\"x\"", "1.5", "[]", "{}",
    ]

    mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(rng.next() % UInt64(bound)) }

    /// One to three mutations of `bytes`. Text files mostly keep their
    /// syntax (numbers replaced, lines dropped or repeated, deep nesting), so
    /// that cases reach the checks behind the parser, not only its syntax errors.
    public mutating func mutate(_ bytes: [UInt8], text: Bool) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<(1 + below(text ? 2 : 3)) {
            if text {
                switch below(10) {
                case 0..<5: replaceNumber(in: &bytes)
                case 5: nest(&bytes)
                case 6: repeatLine(in: &bytes, dropping: true)
                case 7: repeatLine(in: &bytes, dropping: false)
                case 8: bytes.removeLast(below(bytes.count + 1))
                default: flip(&bytes)
                }
                continue
            }
            switch below(6) {
            case 0: flip(&bytes)
            case 1 where !bytes.isEmpty: bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
            case 2: bytes.removeLast(below(bytes.count + 1))
            case 3 where bytes.count >= 8:  // a size field at an extreme, 4 or 8 bytes wide
                let value = Self.extremes[below(Self.extremes.count)]
                let width = below(2) == 0 ? 4 : 8
                let offset = below(min(bytes.count - width, 4096) + 1)
                for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            case 4:
                let count = 1 + below(16)
                bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: below(bytes.count + 1))
            case 5 where !bytes.isEmpty:
                let start = below(bytes.count)
                let slice = bytes[start..<min(bytes.count, start + 1 + below(64))]
                bytes.insert(contentsOf: slice, at: below(bytes.count + 1))
            default: flip(&bytes)
            }
        }
        return bytes
    }

    mutating func flip(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes[below(bytes.count)] ^= UInt8(1 << below(8))
    }

    /// Nesting far past any sane depth, at a random place.
    mutating func nest(_ bytes: inout [UInt8]) {
        let opening = Array((below(2) == 0 ? "[" : "{\"a\":").utf8)
        bytes.insert(contentsOf: (0..<(1000 + below(9000))).flatMap { _ in opening }, at: below(bytes.count + 1))
    }

    /// Drops a random line, or repeats it.
    mutating func repeatLine(in bytes: inout [UInt8], dropping: Bool) {
        guard !bytes.isEmpty else { return }
        let start = bytes[..<below(bytes.count)].lastIndex(of: 10).map { $0 + 1 } ?? 0
        let end = bytes[start...].firstIndex(of: 10).map { $0 + 1 } ?? bytes.count
        if dropping { bytes.removeSubrange(start..<end) } else { bytes.insert(contentsOf: bytes[start..<end], at: end) }
    }

    /// Replaces the digits of a random number in `bytes` with a text extreme.
    mutating func replaceNumber(in bytes: inout [UInt8]) {
        let digits = bytes.indices.filter { (48...57).contains(bytes[$0]) && ($0 == 0 || !(48...57).contains(bytes[$0 - 1])) }
        guard !digits.isEmpty else { return }
        let start = digits[below(digits.count)]
        var end = start
        while end < bytes.count, (48...57).contains(bytes[end]) || bytes[end] == 46 || bytes[end] == 101 || bytes[end] == 45 {
            end += 1
        }
        bytes.replaceSubrange(start..<end, with: Array(Self.textExtremes[below(Self.textExtremes.count)].utf8))
    }
}
