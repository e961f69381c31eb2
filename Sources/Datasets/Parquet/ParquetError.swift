/// Why a parquet file could not be read. Every check on untrusted bytes ends in
/// one of these rather than a trap, so a damaged download is a message, not a crash.
public enum ParquetError: Error, Equatable, CustomStringConvertible {
    /// The file cannot be opened or mapped.
    case unreadable(String)
    /// The bytes contradict the format (bad magic, offsets out of range, impossible counts).
    case corrupt(String)
    /// A valid parquet feature this reader does not implement.
    case unsupported(String)
    /// A column asked for by name that the file does not have.
    case noSuchColumn(String, available: [String])

    public var description: String {
        switch self {
        case .unreadable(let detail): "parquet: cannot read the file: \(detail)"
        case .corrupt(let detail): "parquet: malformed file: \(detail)"
        case .unsupported(let detail): "parquet: unsupported feature: \(detail)"
        case .noSuchColumn(let name, let available):
            "parquet: no column \(name) (the file has \(available.joined(separator: ", ")))"
        }
    }
}

/// A bounds-checked cursor over untrusted bytes whose errors are `ParquetError`s
/// (Support's `ByteReader` reports `InvalidInput` without the parquet vocabulary).
struct ParquetCursor {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    let what: String

    init(_ bytes: UnsafeRawBufferPointer, what: String) {
        self.bytes = bytes
        self.offset = 0
        self.what = what
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    func truncated(_ item: String) -> ParquetError {
        .corrupt("\(what) is truncated: \(item) at byte \(offset) runs past its end (\(bytes.count) bytes)")
    }

    mutating func byte(_ item: String) throws(ParquetError) -> UInt8 {
        guard offset < bytes.count else { throw truncated(item) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func littleEndian<T: FixedWidthInteger>(_: T.Type, _ item: String) throws(ParquetError) -> T {
        guard remaining >= MemoryLayout<T>.size else { throw truncated(item) }
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func take(_ count: Int, _ item: String) throws(ParquetError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw truncated(item) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    /// An unsigned LEB128 varint, at most 10 bytes (64 bits).
    mutating func varint(_ item: String) throws(ParquetError) -> UInt64 {
        var result: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            let b = try byte(item)
            result |= UInt64(b & 0x7f) << UInt64(shift)
            if b & 0x80 == 0 { return result }
        }
        throw .corrupt("\(what): varint for \(item) at byte \(offset) is longer than 10 bytes")
    }
}
