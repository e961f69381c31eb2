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

/// The product of sizes read from a file (dimensions, counts, bytes per
/// element), or nil when one is negative or the product overflows `Int`:
/// a file may hold any number, and a wrapped product would pass a bounds
/// check and then index or allocate past it.
public func checkedProduct(_ factors: [Int]) -> Int? {
    var product = 1
    for factor in factors {
        guard factor >= 0 else { return nil }
        let (result, overflow) = product.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        product = result
    }
    return product
}
