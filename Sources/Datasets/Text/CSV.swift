/// A CSV syntax error; `line` is where the offending record starts (1-based).
struct CSVSyntaxError: Error {
    let message: String
    let line: Int
}

/// RFC 4180 records, one at a time: fields separated by commas, records by LF or
/// CRLF, double-quoted fields may hold commas, line breaks and `""` for a quote.
/// Lenient where the RFC is silent and spreadsheets are sloppy: a quote inside an
/// unquoted field is kept as a character, and blank lines are skipped.
struct CSVParser {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    /// The 1-based line the parser is on; a quoted field with line breaks advances it.
    private(set) var line = 1

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        // Spreadsheet exports often start with a UTF-8 byte-order mark, which is no part of the first name.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { offset = 3 }
    }

    private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")

    /// The next record's fields and the line it starts on, or nil at the end.
    mutating func nextRecord() throws(CSVSyntaxError) -> (fields: [String], line: Int)? {
        while atLineBreak() { skipLineBreak() }
        guard offset < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        while true {
            fields.append(try field(recordLine: start))
            if offset < bytes.count, bytes[offset] == Self.comma {
                offset += 1
                continue
            }
            if atLineBreak() { skipLineBreak() }
            return (fields, start)
        }
    }

    private func atLineBreak() -> Bool {
        offset < bytes.count && (bytes[offset] == Self.lf || bytes[offset] == Self.cr)
    }

    private mutating func skipLineBreak() {
        if bytes[offset] == Self.cr, offset + 1 < bytes.count, bytes[offset + 1] == Self.lf { offset += 1 }
        offset += 1
        line += 1
    }

    private mutating func field(recordLine: Int) throws(CSVSyntaxError) -> String {
        guard offset < bytes.count, bytes[offset] == Self.quote else {
            let start = offset
            while offset < bytes.count, bytes[offset] != Self.comma, !atLineBreak() { offset += 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        }
        offset += 1
        var utf8: [UInt8] = []
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            if byte == Self.lf { line += 1 }
            guard byte == Self.quote else {
                utf8.append(byte)
                continue
            }
            if offset < bytes.count, bytes[offset] == Self.quote {
                utf8.append(byte)
                offset += 1
                continue
            }
            guard offset == bytes.count || bytes[offset] == Self.comma || atLineBreak() else {
                throw CSVSyntaxError(message: "text after the closing quote of a field", line: line)
            }
            return String(decoding: utf8, as: UTF8.self)
        }
        throw CSVSyntaxError(message: "unterminated quoted field (opened on line \(recordLine))", line: recordLine)
    }
}
