import Support

/// Decodes `count` values of the RLE / bit-packed hybrid encoding (levels and
/// dictionary indices). Values wider than 32 bits never occur in parquet.
func decodeHybrid(_ cursor: inout ParquetCursor, bitWidth: Int, count: Int) throws(ParquetError) -> [UInt32] {
    guard (0...32).contains(bitWidth) else { throw .corrupt("\(cursor.what): RLE bit width \(bitWidth) is over 32") }
    var out: [UInt32] = []
    out.reserveCapacity(count)
    let byteWidth = (bitWidth + 7) / 8
    while out.count < count {
        let header = try cursor.varint("RLE run header")
        if header & 1 == 0 {
            let run = header >> 1
            var value: UInt32 = 0
            for i in 0..<byteWidth { value |= UInt32(try cursor.byte("RLE value")) << (8 * i) }
            guard bitWidth == 32 || value >> bitWidth == 0 else { throw .corrupt("\(cursor.what): RLE value wider than its bit width") }
            // A run longer than what is wanted is padding at the end of the stream.
            let n = Int(min(run, UInt64(count - out.count)))
            guard n > 0 else { throw .corrupt("\(cursor.what): empty RLE run") }
            out.append(contentsOf: repeatElement(value, count: n))
        } else {
            let groups = header >> 1
            guard groups > 0, groups <= UInt64(cursor.remaining) else {
                throw .corrupt("\(cursor.what): bit-packed run of \(groups) groups does not fit")
            }
            let packed = try cursor.take(Int(groups) * bitWidth, "bit-packed run")
            let n = min(Int(groups) * 8, count - out.count)
            var buffer: UInt64 = 0
            var bits = 0
            var index = 0
            let mask = bitWidth == 32 ? UInt64(UInt32.max) : (UInt64(1) << bitWidth) - 1
            for _ in 0..<n {
                while bits < bitWidth {
                    buffer |= UInt64(packed[index]) << bits
                    index += 1
                    bits += 8
                }
                out.append(UInt32(buffer & mask))
                buffer >>= UInt64(bitWidth)
                bits -= bitWidth
            }
        }
    }
    return out
}

/// The number of bits needed for values 0...maxValue.
func bitWidth(_ maxValue: Int) -> Int { maxValue == 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount }

/// Decodes `count` PLAIN-encoded values of one physical type.
func decodePlain(_ cursor: inout ParquetCursor, type: PhysicalType, count: Int) throws(ParquetError) -> [JSONValue] {
    var out: [JSONValue] = []
    out.reserveCapacity(min(count, cursor.remaining + 1))
    switch type {
    case .boolean:
        let bytes = try cursor.take((count + 7) / 8, "boolean values")
        for i in 0..<count { out.append(.bool(bytes[i / 8] >> (i % 8) & 1 == 1)) }
    case .int32:
        for _ in 0..<count { out.append(.int(Int64(try cursor.littleEndian(Int32.self, "INT32 value")))) }
    case .int64:
        for _ in 0..<count { out.append(.int(try cursor.littleEndian(Int64.self, "INT64 value"))) }
    case .float:
        for _ in 0..<count {
            out.append(.double(Double(Float(bitPattern: try cursor.littleEndian(UInt32.self, "FLOAT value")))))
        }
    case .double:
        for _ in 0..<count { out.append(.double(Double(bitPattern: try cursor.littleEndian(UInt64.self, "DOUBLE value")))) }
    case .byteArray:
        for _ in 0..<count {
            let length = Int(try cursor.littleEndian(UInt32.self, "BYTE_ARRAY length"))
            out.append(.string(String(decoding: try cursor.take(length, "BYTE_ARRAY value"), as: UTF8.self)))
        }
    case .int96, .fixedLenByteArray:
        throw .unsupported("\(type) columns")
    }
    return out
}
