/// Parquet's physical storage types (parquet.thrift `Type`).
enum PhysicalType: Int {
    case boolean = 0, int32, int64, int96, float, double, byteArray, fixedLenByteArray
}

enum Repetition: Int {
    case required = 0, optional, repeated
}

enum CompressionCodec: Int {
    case uncompressed = 0, snappy, gzip, lzo, brotli, lz4, zstd, lz4Raw
}

enum Encoding: Int {
    case plain = 0, groupVarInt, plainDictionary, rle, bitPacked, deltaBinaryPacked, deltaLengthByteArray,
        deltaByteArray, rleDictionary, byteStreamSplit
}

enum PageType: Int {
    case dataPage = 0, indexPage, dictionaryPage, dataPageV2
}

/// One node of the flattened schema list in the footer.
struct SchemaElement {
    var name: String
    var type: PhysicalType?
    var repetition: Repetition
    var childCount: Int
    /// Converted type UTF8 or logical type STRING: BYTE_ARRAY read as text.
    var isString: Bool
    /// Converted type LIST or logical type LIST: read as an array (3-level or legacy 2-level).
    var isList: Bool
    var isMap: Bool

    init(_ s: ThriftStruct) throws(ParquetError) {
        let s = s.named("SchemaElement")
        name = try s.required(s.string(4), 4, "name")
        if let raw = s.int(1) {
            guard let t = PhysicalType(rawValue: Int(raw)) else { throw .corrupt("column \(name) has unknown type \(raw)") }
            type = t
        }
        // The root may omit its repetition; it acts as required.
        let rawRepetition = s.int(3) ?? 0
        guard let r = Repetition(rawValue: Int(rawRepetition)) else {
            throw .corrupt("column \(name) has unknown repetition \(rawRepetition)")
        }
        repetition = r
        childCount = Int(s.int(5) ?? 0)
        guard childCount >= 0 else { throw .corrupt("column \(name) has \(childCount) children") }
        let converted = s.int(6)
        let logical = s.structure(10)
        isString = converted == 0 || logical?.fields[1] != nil
        isMap = converted == 1 || converted == 2 || logical?.fields[2] != nil
        isList = converted == 3 || logical?.fields[3] != nil
    }
}

struct ColumnChunkMeta {
    var path: [String]
    var type: PhysicalType
    var codec: CompressionCodec
    var valueCount: Int
    /// Byte range of the chunk's pages in the file (dictionary page first when there is one).
    var start: Int
    var compressedSize: Int

    init(_ c: ThriftStruct) throws(ParquetError) {
        let c = c.named("ColumnChunk")
        if let external = c.string(1), !external.isEmpty {
            throw .unsupported("column chunk stored in another file (\(external))")
        }
        let m = try c.required(c.structure(3), 3, "meta_data").named("ColumnMetaData")
        path = try m.required(m.list(3), 3, "path_in_schema").map { value throws(ParquetError) in
            guard case .binary(let b) = value else { throw .corrupt("path_in_schema holds a non-string") }
            return String(decoding: b, as: UTF8.self)
        }
        let rawType = try m.required(m.int(1), 1, "type")
        guard let t = PhysicalType(rawValue: Int(rawType)) else { throw .corrupt("column chunk has unknown type \(rawType)") }
        type = t
        let rawCodec = try m.required(m.int(4), 4, "codec")
        guard let codec = CompressionCodec(rawValue: Int(rawCodec)) else { throw .corrupt("unknown compression codec \(rawCodec)") }
        self.codec = codec
        valueCount = Int(try m.required(m.int(5), 5, "num_values"))
        compressedSize = Int(try m.required(m.int(7), 7, "total_compressed_size"))
        let dataOffset = Int(try m.required(m.int(9), 9, "data_page_offset"))
        // Some writers record a dictionary offset of 0 for "none"; the data offset bounds it either way.
        if let dict = m.int(11).map(Int.init), dict > 0, dict < dataOffset { start = dict } else { start = dataOffset }
        guard valueCount >= 0, compressedSize >= 0, start >= 0 else {
            throw .corrupt("column \(path.joined(separator: ".")) has negative counts or offsets")
        }
    }
}

struct RowGroupMeta {
    var rowCount: Int
    var columns: [ColumnChunkMeta]

    init(_ g: ThriftStruct) throws(ParquetError) {
        let g = g.named("RowGroup")
        rowCount = Int(try g.required(g.int(3), 3, "num_rows"))
        guard rowCount >= 0 else { throw .corrupt("row group has \(rowCount) rows") }
        columns = try g.required(g.list(1), 1, "columns").map { value throws(ParquetError) in
            guard case .structure(let c) = value else { throw .corrupt("row group column is not a struct") }
            return try ColumnChunkMeta(c)
        }
    }
}

struct FileMetadata {
    var schema: [SchemaElement]
    var rowCount: Int
    var rowGroups: [RowGroupMeta]

    init(_ f: ThriftStruct) throws(ParquetError) {
        schema = try f.required(f.list(2), 2, "schema").map { value throws(ParquetError) in
            guard case .structure(let s) = value else { throw .corrupt("schema element is not a struct") }
            return try SchemaElement(s)
        }
        rowCount = Int(try f.required(f.int(3), 3, "num_rows"))
        rowGroups = try f.required(f.list(4), 4, "row_groups").map { value throws(ParquetError) in
            guard case .structure(let g) = value else { throw .corrupt("row group is not a struct") }
            return try RowGroupMeta(g)
        }
    }
}

/// A page header: which kind of page follows and how to decode it.
struct PageHeader {
    var type: PageType?
    var uncompressedSize: Int
    var compressedSize: Int
    var valueCount: Int
    var encoding: Encoding
    /// DATA_PAGE_V2 only: the level streams precede the (maybe compressed) values uncompressed.
    var repetitionLevelsSize = 0
    var definitionLevelsSize = 0
    var valuesCompressed = true
    /// DATA_PAGE (v1) only; `nil` when the writer recorded an unknown encoding.
    var definitionLevelEncoding: Encoding?
    var repetitionLevelEncoding: Encoding?

    init(_ h: ThriftStruct) throws(ParquetError) {
        // Unknown page kinds (index pages, future ones) are skipped by size, so keep the type optional.
        type = PageType(rawValue: Int(try h.required(h.int(1), 1, "type")))
        uncompressedSize = try h.requiredInt32(2, "uncompressed_page_size")
        compressedSize = try h.requiredInt32(3, "compressed_page_size")
        guard uncompressedSize >= 0, compressedSize >= 0 else { throw .corrupt("page header has a negative size") }
        let body: ThriftStruct?
        switch type {
        case .dataPage: body = try h.required(h.structure(5), 5, "data_page_header").named("DataPageHeader")
        case .dictionaryPage: body = try h.required(h.structure(7), 7, "dictionary_page_header").named("DictionaryPageHeader")
        case .dataPageV2: body = try h.required(h.structure(8), 8, "data_page_header_v2").named("DataPageHeaderV2")
        case .indexPage, nil: body = nil
        }
        valueCount = 0
        encoding = .plain
        guard let body else { return }
        valueCount = try body.requiredInt32(1, "num_values")
        let encodingID: Int16 = type == .dataPageV2 ? 4 : 2
        let rawEncoding = try body.required(body.int(encodingID), encodingID, "encoding")
        guard let e = Encoding(rawValue: Int(rawEncoding)) else { throw .corrupt("unknown page encoding \(rawEncoding)") }
        encoding = e
        guard valueCount >= 0 else { throw .corrupt("page has \(valueCount) values") }
        if type == .dataPage {
            definitionLevelEncoding = body.int(3).flatMap { Encoding(rawValue: Int($0)) }
            repetitionLevelEncoding = body.int(4).flatMap { Encoding(rawValue: Int($0)) }
        } else if type == .dataPageV2 {
            definitionLevelsSize = try body.requiredInt32(5, "definition_levels_byte_length")
            repetitionLevelsSize = try body.requiredInt32(6, "repetition_levels_byte_length")
            valuesCompressed = body.bool(7) ?? true
            guard definitionLevelsSize >= 0, repetitionLevelsSize >= 0,
                definitionLevelsSize + repetitionLevelsSize <= compressedSize
            else {
                throw .corrupt("DATA_PAGE_V2 level lengths do not fit in the page")
            }
        }
    }
}
