import CZlib
import CZstd

/// Decompresses one page body to exactly `size` bytes (the size its header promises;
/// anything else means the page is damaged).
func decompress(_ input: UnsafeRawBufferPointer, codec: CompressionCodec, size: Int, in column: String) throws(ParquetError) -> [UInt8] {
    do {
        return try decompress(input, codec: codec, size: size)
    } catch .corrupt(let detail) {
        throw .corrupt("column \(column): \(detail)")
    }
}

private func decompress(_ input: UnsafeRawBufferPointer, codec: CompressionCodec, size: Int) throws(ParquetError) -> [UInt8] {
    switch codec {
    case .uncompressed:
        guard input.count == size else { throw .corrupt("uncompressed page holds \(input.count) bytes, header says \(size)") }
        return Array(input)
    case .snappy: return try snappyDecompress(input, expectedSize: size)
    case .gzip: return try gunzip(input, expectedSize: size)
    case .zstd: return try unzstd(input, expectedSize: size)
    case .lzo, .brotli, .lz4, .lz4Raw: throw .unsupported("\(codec) compression (supported: uncompressed, snappy, gzip, zstd)")
    }
}

private func gunzip(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws(ParquetError) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: expectedSize)
    var stream = z_stream()
    // 15 + 32: a 32 KiB window, and accept either a gzip or a zlib header.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw .unreadable("zlib failed to initialise")
    }
    defer { inflateEnd(&stream) }
    let (status, produced) = output.withUnsafeMutableBytes { out in
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
        stream.avail_in = uInt(input.count)
        stream.next_out = out.bindMemory(to: UInt8.self).baseAddress
        stream.avail_out = uInt(out.count)
        let status = inflate(&stream, Z_FINISH)
        return (status, Int(stream.total_out))
    }
    guard status == Z_STREAM_END, produced == expectedSize else {
        throw .corrupt("gzip page does not inflate to its \(expectedSize) bytes (zlib status \(status), \(produced) bytes)")
    }
    return output
}

private func unzstd(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws(ParquetError) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: expectedSize)
    let produced = output.withUnsafeMutableBytes { out in
        ZSTD_decompress(out.baseAddress, out.count, input.baseAddress, input.count)
    }
    if ZSTD_isError(produced) != 0 {
        throw .corrupt("zstd page is damaged: \(String(cString: ZSTD_getErrorName(produced)))")
    }
    guard produced == expectedSize else { throw .corrupt("zstd page inflates to \(produced) bytes, header says \(expectedSize)") }
    return output
}
