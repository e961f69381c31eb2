/// A bounds-checked little-endian cursor over untrusted bytes: every read
/// checks the remaining length and throws instead of reading past the end.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int
    public let context: String

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, context: String) {
        self.bytes = bytes
        self.offset = offset
        self.context = context
    }

    public func truncated(_ what: String) -> InvalidInput {
        InvalidInput(place: context, problem: "file is truncated: \(what) at byte \(offset) runs past the end (\(bytes.count) bytes)")
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        guard offset <= bytes.count - MemoryLayout<T>.size else { throw truncated(what) }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    public mutating func readBytes(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, offset <= bytes.count - count else { throw truncated(what) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }
}
