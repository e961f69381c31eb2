/// The JSON data model, for every file the program reads: tokenizer files,
/// dataset rows (parquet, JSONL and CSV rows look the same to the rest of the
/// program), run results. Objects keep their members in file order, which a
/// dictionary would lose; integers that fit stay exact.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case list([JSONValue])
    /// Members keep the file's column / struct-field order, which a dictionary would lose.
    case object([Member])

    public struct Member: Equatable, Sendable {
        public var name: String
        public var value: JSONValue
        public init(_ name: String, _ value: JSONValue) {
            self.name = name
            self.value = value
        }
    }

    /// The member called `name` of an object; nil for anything else.
    public subscript(name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.name == name }?.value
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var int: Int64? { if case .int(let i) = self { i } else { nil } }
    public var list: [JSONValue]? { if case .list(let l) = self { l } else { nil } }
    public var members: [Member]? { if case .object(let m) = self { m } else { nil } }
    public var isNull: Bool { self == .null }
}

extension JSONValue {
    /// A number as a Double (JSON does not tell integers from decimals; this model does).
    public var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    /// A number that is exactly an `Int32`, as token ids are.
    public var int32: Int32? { number.flatMap { Int32(exactly: $0) } }
}

/// Literal strings in JSON built by hand: `.init("object", "list")`.
extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
