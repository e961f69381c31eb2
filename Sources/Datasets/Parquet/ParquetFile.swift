import Engine
import Foundation
import Support

/// A parquet file, memory-mapped: opening reads only the footer, and rows are
/// decoded one row group at a time, so a 356 MB training file costs the memory
/// of one row group rather than of the file.
public struct ParquetFile: Sendable {
    public let url: URL
    public let schema: ParquetSchema
    /// Rows in the whole file, as the footer records them.
    public let rowCount: Int
    private let file: MappedFile
    private let rowGroups: [RowGroupMeta]

    private static let magic: [UInt8] = Array("PAR1".utf8)

    public init(contentsOf url: URL) throws(ParquetError) {
        self.url = url
        do { file = try MappedFile(url) } catch { throw .unreadable("\(error)") }
        let bytes = file.bytes
        // "PAR1", pages, footer, 4-byte footer length, "PAR1".
        guard bytes.count >= 12 else { throw .corrupt("\(url.lastPathComponent) is \(bytes.count) bytes, too short for parquet") }
        guard Array(bytes[0..<4]) == Self.magic, Array(bytes[(bytes.count - 4)...]) == Self.magic else {
            throw .corrupt("\(url.lastPathComponent) does not start and end with the PAR1 magic (truncated, or not parquet)")
        }
        let footerLength = Int(bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt32.self).littleEndian)
        guard footerLength <= bytes.count - 12 else {
            throw .corrupt("footer length \(footerLength) exceeds the \(bytes.count)-byte file")
        }
        let footerStart = bytes.count - 8 - footerLength
        var reader = ThriftCompactReader(
            ParquetCursor(
                UnsafeRawBufferPointer(rebasing: bytes[footerStart..<bytes.count - 8]),
                what: "footer"))
        let metadata = try FileMetadata(reader.readStruct(named: "FileMetaData"))
        schema = try ParquetSchema(metadata.schema)
        rowGroups = metadata.rowGroups
        rowCount = metadata.rowCount
        for (g, group) in rowGroups.enumerated() {
            guard group.columns.count == schema.leaves.count else {
                throw .corrupt("row group \(g) has \(group.columns.count) column chunks for \(schema.leaves.count) columns")
            }
            for (chunk, leaf) in zip(group.columns, schema.leaves) where chunk.path != leaf.path || chunk.type != leaf.type {
                throw .corrupt(
                    "row group \(g) column \(chunk.path.joined(separator: ".")) does not match the schema's \(leaf.path.joined(separator: "."))"
                )
            }
        }
        guard rowGroups.reduce(0, { $0 + $1.rowCount }) == rowCount else {
            throw .corrupt("the row groups' row counts do not add up to the file's \(rowCount)")
        }
    }

    public var rowGroupCount: Int { rowGroups.count }

    public func rowCount(inRowGroup index: Int) -> Int { rowGroups[index].rowCount }

    /// Decodes one row group and assembles its rows. `columns` picks top-level columns
    /// (kept in file order); the others are not even decompressed, which matters when the
    /// long `prompt` column is not wanted. Nil means all.
    public func rows(inRowGroup index: Int, columns names: [String]? = nil) throws(ParquetError) -> [Row] {
        precondition(rowGroups.indices.contains(index), "row group \(index) of \(rowGroups.count)")
        let selected = try schema.topLevel(names)
        let wanted = Set(selected.flatMap { Array($0.leaves) })
        let group = rowGroups[index]
        var columns: [ColumnTriplets] = []
        for (i, (chunk, leaf)) in zip(group.columns, schema.leaves).enumerated() {
            columns.append(wanted.contains(i) ? try readColumnChunk(file.bytes, chunk, leaf) : ColumnTriplets())
        }
        return try RecordAssembler(schema: schema, columns: columns, selected: selected).rows(count: group.rowCount)
    }

    /// Iterates every row of the file, holding one decoded row group at a time.
    public func makeRowIterator(columns: [String]? = nil) -> RowIterator { RowIterator(file: self, columns: columns) }

    public struct RowIterator: Sendable {
        let file: ParquetFile
        let columns: [String]?
        var group = 0
        var buffered: [Row] = []
        var position = 0

        /// The next row, or nil after the last; throws on the first damaged row group.
        public mutating func next() throws(ParquetError) -> Row? {
            while position == buffered.count {
                guard group < file.rowGroupCount else { return nil }
                buffered = try file.rows(inRowGroup: group, columns: columns)
                group += 1
                position = 0
            }
            defer { position += 1 }
            return buffered[position]
        }
    }
}
