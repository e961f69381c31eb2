import Foundation

/// A JSON document, parsed strictly (RFC 8259).
///
/// Tokenizer files are parsed here rather than with Foundation: `JSONDecoder`
/// takes seconds over Qwen's 150k-entry vocabulary and merges, and
/// `JSONSerialization` reads `true` as 1, so a wrong type would pass unnoticed.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    subscript(key: String) -> JSONValue? {
        if case let .object(members) = self { return members[key] }
        return nil
    }

    var string: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    var bool: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    var array: [JSONValue]? {
        if case let .array(value) = self { return value }
        return nil
    }

    var object: [String: JSONValue]? {
        if case let .object(value) = self { return value }
        return nil
    }

    /// A number that is exactly an `Int32`, as token ids are.
    var int32: Int32? {
        if case let .number(value) = self { return Int32(exactly: value) }
        return nil
    }

    var isNull: Bool { self == .null }

    /// Parses `data`; the error names `file` and where in it parsing stopped.
    static func parse(_ data: Data, file: String) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var parser = Parser(bytes: raw.bindMemory(to: UInt8.self))
            do {
                let value = try parser.value(depth: 0)
                parser.skipWhitespace()
                guard parser.position == parser.bytes.count else { throw parser.failure("unexpected data after the JSON value") }
                return value
            } catch let failure as Parser.Failure {
                throw TokenizerError("\(file): invalid JSON at \(parser.location(of: failure.position)): \(failure.detail)")
            }
        }
    }

    private struct Parser {
        struct Failure: Error {
            let position: Int
            let detail: String
        }

        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        /// Deeper nesting than any tokenizer file has is refused rather than
        /// allowed to exhaust the stack.
        static let maximumDepth = 256

        func failure(_ detail: String) -> Failure { Failure(position: position, detail: detail) }

        func location(of offset: Int) -> String {
            let before = bytes[..<min(offset, bytes.count)]
            let line = before.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            return "line \(line), column \(offset - lineStart + 1)"
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of data") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw failure("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString, _ value: JSONValue) throws -> JSONValue {
            let length = word.utf8CodeUnitCount
            guard position + length <= bytes.count,
                  UnsafeBufferPointer(start: word.utf8Start, count: length).elementsEqual(bytes[position..<position + length])
            else { throw failure("unexpected character") }
            position += length
            return value
        }

        mutating func object(depth: Int) throws -> JSONValue {
            position += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                let key = try string()
                try expect(":")
                members[key] = try value(depth: depth + 1)
                if try endOfList("}") { return .object(members) }
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                elements.append(try value(depth: depth + 1))
                if try endOfList("]") { return .array(elements) }
            }
        }

        /// After a member: true at the closing bracket, false after a comma.
        mutating func endOfList(_ closing: Unicode.Scalar) throws -> Bool {
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of data") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") { return false }
            if byte == UInt8(closing.value) { return true }
            position -= 1
            throw failure("expected ',' or '\(closing)'")
        }

        mutating func expect(_ character: Unicode.Scalar) throws {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(character.value) else {
                throw failure("expected '\(character)'")
            }
            position += 1
        }

        mutating func string() throws -> String {
            position += 1
            let start = position
            // Most strings have no escapes: their bytes are the string.
            while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") {
                guard bytes[position] >= 0x20 else { throw failure("control character in a string") }
                position += 1
            }
            var utf8 = Array(bytes[start..<position])
            while position < bytes.count, bytes[position] == UInt8(ascii: "\\") {
                try escape(into: &utf8)
                while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") {
                    guard bytes[position] >= 0x20 else { throw failure("control character in a string") }
                    utf8.append(bytes[position])
                    position += 1
                }
            }
            guard position < bytes.count else { throw Failure(position: start - 1, detail: "unterminated string") }
            position += 1
            guard let string = String(validating: utf8, as: UTF8.self) else {
                throw Failure(position: start, detail: "string is not valid UTF-8")
            }
            return string
        }

        mutating func escape(into utf8: inout [UInt8]) throws {
            position += 1
            guard position < bytes.count else { throw failure("unterminated string") }
            let code = bytes[position]
            position += 1
            switch code {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return utf8.append(code)
            case UInt8(ascii: "b"): return utf8.append(0x08)
            case UInt8(ascii: "f"): return utf8.append(0x0C)
            case UInt8(ascii: "n"): return utf8.append(0x0A)
            case UInt8(ascii: "r"): return utf8.append(0x0D)
            case UInt8(ascii: "t"): return utf8.append(0x09)
            case UInt8(ascii: "u"): break
            default: throw failure("invalid escape")
            }
            var value = try hexQuad()
            if (0xD800..<0xDC00).contains(value) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw failure("unpaired surrogate escape") }
                position += 2
                let low = try hexQuad()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate escape") }
                value = 0x10000 + (value - 0xD800) << 10 + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(value) else { throw failure("unpaired surrogate escape") }
            utf8.append(contentsOf: UTF8.encode(scalar)!)
        }

        mutating func hexQuad() throws -> UInt32 {
            guard position + 4 <= bytes.count,
                  let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
            else { throw failure("invalid \\u escape") }
            position += 4
            return value
        }

        mutating func number() throws -> JSONValue {
            let start = position
            func digits() -> Int {
                let first = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
                return position - first
            }
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            let integerStart = position
            guard digits() > 0 else { throw failure("invalid number") }
            guard bytes[integerStart] != UInt8(ascii: "0") || position - integerStart == 1 else {
                throw Failure(position: start, detail: "number with a leading zero")
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { throw failure("invalid number") }
            }
            if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    position += 1
                }
                guard digits() > 0 else { throw failure("invalid number") }
            }
            guard let value = Double(String(decoding: bytes[start..<position], as: UTF8.self)) else {
                throw Failure(position: start, detail: "invalid number")
            }
            return .number(value)
        }
    }
}
