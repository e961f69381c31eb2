/// Decompresses a raw snappy block (parquet uses the block format, not the framing
/// format): a varint length, then literals and back-references.
func snappyDecompress(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws(ParquetError) -> [UInt8] {
    var cursor = ParquetCursor(input, what: "snappy page")
    let declared = try cursor.varint("snappy length")
    guard declared == UInt64(expectedSize) else {
        throw .corrupt("snappy page declares \(declared) bytes, header says \(expectedSize)")
    }
    var output: [UInt8] = []
    output.reserveCapacity(expectedSize)
    while !cursor.isAtEnd {
        let tag = try cursor.byte("snappy tag")
        let length: Int
        let distance: Int
        switch tag & 3 {
        case 0:
            var literal = Int(tag >> 2)
            if literal >= 60 {
                // 60...63: the length - 1 follows in 1...4 little-endian bytes.
                let extraBytes = literal - 59
                literal = 0
                for i in 0..<extraBytes {
                    literal |= Int(try cursor.byte("snappy literal length")) << (8 * i)
                }
            }
            let bytes = try cursor.take(literal + 1, "snappy literal")
            guard output.count + bytes.count <= expectedSize else { throw overflow(expectedSize) }
            output.append(contentsOf: bytes)
            continue
        case 1:
            length = 4 + Int((tag >> 2) & 7)
            distance = Int(tag >> 5) << 8 | Int(try cursor.byte("snappy offset"))
        case 2:
            length = 1 + Int(tag >> 2)
            distance = Int(try cursor.littleEndian(UInt16.self, "snappy offset"))
        default:
            length = 1 + Int(tag >> 2)
            distance = Int(try cursor.littleEndian(UInt32.self, "snappy offset"))
        }
        guard distance > 0, distance <= output.count else {
            throw .corrupt("snappy back-reference \(distance) bytes behind \(output.count) bytes of output")
        }
        guard output.count + length <= expectedSize else { throw overflow(expectedSize) }
        // Byte by byte: a copy may overlap its own output (distance < length repeats a pattern).
        let from = output.count - distance
        for i in 0..<length { output.append(output[from + i]) }
    }
    guard output.count == expectedSize else {
        throw .corrupt("snappy page ends after \(output.count) of \(expectedSize) bytes")
    }
    return output
}

private func overflow(_ size: Int) -> ParquetError { .corrupt("snappy page inflates past its \(size) bytes") }
