import Engine
import Foundation
import Support

/// A dataset file in any format this module reads, chosen by extension:
/// `.parquet`; `.jsonl` (one object per line); `.json` (JSON Lines, or one top-level
/// array of objects); `.csv` (RFC 4180 with a header row). Rows come out as the
/// same `Row`s whatever the format, so column mapping and printing are written once.
public struct DatasetFile: Sendable {
    public enum Format: String, Sendable { case parquet, jsonl, json, csv }

    public let url: URL
    public let format: Format
    private let source: Source

    private enum Source: Sendable {
        case parquet(ParquetFile)
        case text(MappedFile)
    }

    public init(contentsOf url: URL) throws(DatasetError) {
        self.url = url
        guard let format = Format(rawValue: url.pathExtension.lowercased()) else {
            throw .unreadable("\(url.lastPathComponent): unknown extension; expected .parquet, .jsonl, .json or .csv")
        }
        self.format = format
        if format == .parquet {
            do throws(ParquetError) { source = .parquet(try ParquetFile(contentsOf: url)) } catch { throw .parquet(error) }
        } else {
            // Mapped rather than read: the kernel pages the text in as the iterator walks it,
            // so a large JSONL file costs one row's memory, not the file's.
            do { source = .text(try MappedFile(url)) } catch { throw .unreadable("\(error)") }
        }
    }

    public func makeRowIterator() -> RowIterator {
        switch source {
        case .parquet(let file): RowIterator(state: .parquet(file.makeRowIterator()))
        case .text(let mapped): RowIterator(state: .text(mapped, TextRows(format: format, name: url.lastPathComponent)))
        }
    }

    public struct RowIterator {
        fileprivate enum State {
            case parquet(ParquetFile.RowIterator)
            // Holding the mapping keeps the bytes alive while `TextRows` points into them.
            case text(MappedFile, TextRows)
        }
        fileprivate var state: State

        /// The next row, or nil after the last; throws at the first bad line or row group.
        public mutating func next() throws(DatasetError) -> Row? {
            switch state {
            case .parquet(var rows):
                defer { state = .parquet(rows) }
                do throws(ParquetError) { return try rows.next() } catch { throw .parquet(error) }
            case .text(let mapped, var rows):
                defer { state = .text(mapped, rows) }
                return try rows.next(mapped.bytes)
            }
        }
    }
}

/// The text formats' position in the mapped bytes.
private struct TextRows {
    let format: DatasetFile.Format
    let name: String
    var offset = 0
    var line = 0
    var csv: (parser: CSVParser, header: [String])?
    /// A `.json` file holding one array is parsed whole on first use: it is not line-oriented,
    /// and such files are small (large datasets ship as JSONL or parquet).
    var array: (elements: [JSONValue], position: Int)?

    init(format: DatasetFile.Format, name: String) {
        self.format = format
        self.name = name
    }

    mutating func next(_ bytes: UnsafeRawBufferPointer) throws(DatasetError) -> Row? {
        switch format {
        case .csv: return try nextCSV(bytes)
        case .json where array != nil || firstNonWhitespace(bytes) == UInt8(ascii: "["): return try nextArrayElement(bytes)
        default: return try nextLine(bytes)
        }
    }

    private func firstNonWhitespace(_ bytes: UnsafeRawBufferPointer) -> UInt8? {
        bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
    }

    private mutating func nextLine(_ bytes: UnsafeRawBufferPointer) throws(DatasetError) -> Row? {
        while offset < bytes.count {
            let end = bytes[offset...].firstIndex(of: 0x0A) ?? bytes.count
            let text = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
            offset = end + 1
            line += 1
            guard text.contains(where: { ![0x20, 0x09, 0x0D].contains($0) }) else { continue }
            let value: JSONValue
            do throws(JSONSyntaxError) { value = try JSONValue.parse(text) } catch {
                throw .malformed("\(name):\(line): \(error.message) (column \(error.column))")
            }
            return try row(value, at: "\(name):\(line)")
        }
        return nil
    }

    private mutating func nextArrayElement(_ bytes: UnsafeRawBufferPointer) throws(DatasetError) -> Row? {
        if array == nil {
            do throws(JSONSyntaxError) { array = (try JSONValue.parse(bytes).list ?? [], 0) } catch {
                throw .malformed("\(name):\(error.line): \(error.message)")
            }
        }
        guard let (elements, position) = array, position < elements.count else { return nil }
        array?.position += 1
        return try row(elements[position], at: "\(name) element \(position)")
    }

    private func row(_ value: JSONValue, at place: String) throws(DatasetError) -> Row {
        guard case .object(let members) = value else {
            throw .malformed("\(place): expected a JSON object, found \(value.jsonText.prefix(40))")
        }
        return Row(fields: members)
    }

    /// CSV has no types, so every cell is the string as written (an empty cell is "",
    /// "007" stays "007"): guessing would corrupt ids and answers that look like numbers.
    /// A cell holding a JSON list stays a string too; `QAMapping` decodes it where a
    /// list of answers is expected.
    private mutating func nextCSV(_ bytes: UnsafeRawBufferPointer) throws(DatasetError) -> Row? {
        let record: (fields: [String], line: Int)?
        do throws(CSVSyntaxError) {
            if csv == nil {
                var parser = CSVParser(bytes)
                guard let header = try parser.nextRecord() else { return nil }
                csv = (parser, header.fields)
            }
            record = try csv!.parser.nextRecord()
        } catch {
            throw .malformed("\(name):\(error.line): \(error.message)")
        }
        guard let record, let header = csv?.header else { return nil }
        guard record.fields.count == header.count else {
            throw .malformed("\(name):\(record.line): \(record.fields.count) fields, but the header has \(header.count)")
        }
        return Row(fields: zip(header, record.fields).map { JSONValue.Member($0, .string($1)) })
    }
}
