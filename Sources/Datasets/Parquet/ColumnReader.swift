import Support

/// A leaf column of the schema: where its values sit in the nesting.
struct LeafColumn {
    var path: [String]
    var type: PhysicalType
    var maxDefinition: Int
    var maxRepetition: Int
}

/// One column chunk decoded into Dremel triplets: for entry i, its repetition and
/// definition levels and its value (`.null` unless fully defined).
struct ColumnTriplets {
    var repetition: [UInt8] = []
    var definition: [UInt8] = []
    var values: [JSONValue] = []
}

/// Real writers page at about 1 MiB; a header claiming more values than this is
/// treated as damage rather than trusted with an allocation of its size.
let maxValuesPerPage = 1 << 26

/// Decodes every page of one column chunk.
func readColumnChunk(_ file: UnsafeRawBufferPointer, _ chunk: ColumnChunkMeta, _ leaf: LeafColumn) throws(ParquetError) -> ColumnTriplets {
    let name = leaf.path.joined(separator: ".")
    guard chunk.start <= file.count, chunk.compressedSize <= file.count - chunk.start else {
        throw .corrupt("column \(name): chunk bytes \(chunk.start)+\(chunk.compressedSize) lie outside the \(file.count)-byte file")
    }
    var cursor = ParquetCursor(
        UnsafeRawBufferPointer(rebasing: file[chunk.start..<chunk.start + chunk.compressedSize]),
        what: "column \(name)")
    var result = ColumnTriplets()
    var dictionary: [JSONValue]?
    while result.definition.count < chunk.valueCount {
        guard !cursor.isAtEnd else {
            throw .corrupt("column \(name): pages end after \(result.definition.count) of \(chunk.valueCount) values")
        }
        var thrift = ThriftCompactReader(cursor)
        let header = try PageHeader(thrift.readStruct(named: "PageHeader"))
        cursor = thrift.cursor
        let body = try cursor.take(header.compressedSize, "page body")
        // A dictionary's entries are not among the chunk's values; a data page's are.
        let limit = header.type == .dictionaryPage ? maxValuesPerPage : min(maxValuesPerPage, chunk.valueCount - result.definition.count)
        guard header.valueCount <= limit else {
            throw .corrupt("column \(name): a page claims \(header.valueCount) values, more than the chunk has left")
        }
        switch header.type {
        case .dictionaryPage:
            guard dictionary == nil else { throw .corrupt("column \(name): second dictionary page") }
            guard header.encoding == .plain || header.encoding == .plainDictionary else {
                throw .unsupported("column \(name): dictionary page encoding \(header.encoding)")
            }
            let bytes = try decompress(body, codec: chunk.codec, size: header.uncompressedSize, in: name)
            dictionary = try withBytes(bytes) { raw throws(ParquetError) in
                var c = ParquetCursor(raw, what: "dictionary of \(name)")
                return try decodePlain(&c, type: leaf.type, count: header.valueCount)
            }
        case .dataPage, .dataPageV2:
            try readDataPage(body, header, chunk.codec, leaf, dictionary, into: &result)
        case .indexPage, nil:
            continue
        }
    }
    return result
}

private func readDataPage(
    _ body: UnsafeRawBufferPointer, _ header: PageHeader, _ codec: CompressionCodec, _ leaf: LeafColumn,
    _ dictionary: [JSONValue]?, into result: inout ColumnTriplets
) throws(ParquetError) {
    let name = leaf.path.joined(separator: ".")
    let n = header.valueCount
    let repetition: [UInt32]
    let definition: [UInt32]
    let values: [UInt8]
    if header.type == .dataPageV2 {
        // V2 keeps the levels uncompressed and unprefixed in front of the values.
        var levels = ParquetCursor(body, what: "levels of \(name)")
        var repCursor = ParquetCursor(
            try levels.take(header.repetitionLevelsSize, "repetition levels"), what: "repetition levels of \(name)")
        var defCursor = ParquetCursor(
            try levels.take(header.definitionLevelsSize, "definition levels"), what: "definition levels of \(name)")
        repetition = leaf.maxRepetition == 0 ? [] : try decodeHybrid(&repCursor, bitWidth: bitWidth(leaf.maxRepetition), count: n)
        definition = leaf.maxDefinition == 0 ? [] : try decodeHybrid(&defCursor, bitWidth: bitWidth(leaf.maxDefinition), count: n)
        let rest = UnsafeRawBufferPointer(rebasing: body[levels.offset...])
        let size = header.uncompressedSize - levels.offset
        guard size >= 0 else { throw .corrupt("column \(name): DATA_PAGE_V2 levels are larger than the page") }
        values =
            header.valuesCompressed
            ? try decompress(rest, codec: codec, size: size, in: name)
            : try decompress(rest, codec: .uncompressed, size: size, in: name)
    } else {
        if (leaf.maxRepetition > 0 && header.repetitionLevelEncoding == .bitPacked)
            || (leaf.maxDefinition > 0 && header.definitionLevelEncoding == .bitPacked)
        {
            throw .unsupported("column \(name): deprecated BIT_PACKED level encoding")
        }
        let page = try decompress(body, codec: codec, size: header.uncompressedSize, in: name)
        var start = 0
        (repetition, definition, start) = try withBytes(page) { raw throws(ParquetError) in
            var c = ParquetCursor(raw, what: "levels of \(name)")
            let rep = try levelsV1(&c, max: leaf.maxRepetition, count: n)
            let def = try levelsV1(&c, max: leaf.maxDefinition, count: n)
            return (rep, def, c.offset)
        }
        values = Array(page[start...])
    }
    if let bad = repetition.first(where: { $0 > leaf.maxRepetition }) ?? definition.first(where: { $0 > leaf.maxDefinition }) {
        throw .corrupt("column \(name): level \(bad) above the schema's maximum")
    }
    let present = leaf.maxDefinition == 0 ? n : definition.lazy.filter { $0 == leaf.maxDefinition }.count
    let decoded: [JSONValue] = try withBytes(values) { raw throws(ParquetError) in
        var c = ParquetCursor(raw, what: "values of \(name)")
        switch header.encoding {
        case .plain:
            return try decodePlain(&c, type: leaf.type, count: present)
        case .plainDictionary, .rleDictionary:
            guard let dictionary else { throw .corrupt("column \(name): dictionary-encoded page without a dictionary page") }
            let width = Int(try c.byte("dictionary index bit width"))
            return try decodeHybrid(&c, bitWidth: width, count: present).map { index throws(ParquetError) in
                guard Int(index) < dictionary.count else {
                    throw .corrupt("column \(name): dictionary index \(index) past the \(dictionary.count)-entry dictionary")
                }
                return dictionary[Int(index)]
            }
        default:
            throw .unsupported("column \(name): \(header.encoding) encoding (supported: PLAIN, RLE_DICTIONARY, PLAIN_DICTIONARY)")
        }
    }
    result.repetition.append(contentsOf: repetition.isEmpty ? Array(repeating: 0, count: n) : repetition.map { UInt8($0) })
    if definition.isEmpty {
        result.definition.append(contentsOf: repeatElement(0, count: n))
        result.values.append(contentsOf: decoded)
    } else {
        var next = 0
        for level in definition {
            result.definition.append(UInt8(level))
            if level == leaf.maxDefinition {
                result.values.append(decoded[next])
                next += 1
            } else {
                result.values.append(.null)
            }
        }
    }
}

/// DATA_PAGE v1 levels: a 4-byte length, then the RLE hybrid stream (absent when the maximum level is 0).
private func levelsV1(_ cursor: inout ParquetCursor, max: Int, count: Int) throws(ParquetError) -> [UInt32] {
    guard max > 0 else { return [] }
    let length = Int(try cursor.littleEndian(UInt32.self, "level length"))
    var levels = ParquetCursor(try cursor.take(length, "levels"), what: cursor.what)
    return try decodeHybrid(&levels, bitWidth: bitWidth(max), count: count)
}

/// `withUnsafeBytes` for a closure with typed throws (the standard one only rethrows `any Error`).
private func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ParquetError) -> R) throws(ParquetError) -> R {
    try bytes.withUnsafeBytes { raw in Result { () throws(ParquetError) in try body(raw) } }.get()
}
