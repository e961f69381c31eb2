/// GPT-2's reversible byte-to-character mapping, which byte-level BPE vocabularies
/// are written in: every byte becomes one printable character, so a token string
/// in tokenizer.json or GGUF spells the raw bytes it stands for.
///
/// Printable Latin-1 bytes map to themselves; the 68 others (controls, space,
/// DEL, NBSP, soft hyphen) map to U+0100 and up, in byte order.
enum ByteLevel {
    static let scalarForByte: [Unicode.Scalar] = {
        var next: UInt32 = 256
        return (0...255).map { (byte: UInt32) -> Unicode.Scalar in
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable { return Unicode.Scalar(byte)! }
            defer { next += 1 }
            return Unicode.Scalar(next)!
        }
    }()

    /// Indexed by scalar value (all mapped scalars are below 0x144); -1 where a
    /// scalar stands for no byte.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// The raw bytes a vocabulary entry spells, or nil when it has a character
    /// outside the mapping (an added token such as "<|im_start|>" is all mapped;
    /// one containing a space is not).
    static func bytes(spelledBy token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            guard Int(scalar.value) < byteForScalar.count, byteForScalar[Int(scalar.value)] >= 0 else { return nil }
            bytes.append(UInt8(byteForScalar[Int(scalar.value)]))
        }
        return bytes
    }

    static func spelling(of bytes: some Sequence<UInt8>) -> String {
        var spelled = String.UnicodeScalarView()
        for byte in bytes { spelled.append(scalarForByte[Int(byte)]) }
        return String(spelled)
    }
}
