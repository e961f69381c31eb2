/// One cell of a dataset row, whatever file it came from: the JSON data model,
/// so that parquet, JSONL and CSV rows look the same to the rest of the program.
public enum DataValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case list([DataValue])
    /// Members keep the file's column / struct-field order, which a dictionary would lose.
    case object([Member])

    public struct Member: Equatable, Sendable {
        public var name: String
        public var value: DataValue
        public init(_ name: String, _ value: DataValue) {
            self.name = name
            self.value = value
        }
    }

    /// The member called `name` of an object; nil for anything else.
    public subscript(name: String) -> DataValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.name == name }?.value
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var int: Int64? { if case .int(let i) = self { i } else { nil } }
    public var list: [DataValue]? { if case .list(let l) = self { l } else { nil } }
    public var isNull: Bool { self == .null }
}

/// One row of a dataset: its columns in file order.
public struct Row: Equatable, Sendable {
    public var fields: [DataValue.Member]

    public init(fields: [DataValue.Member]) { self.fields = fields }

    public subscript(name: String) -> DataValue? { fields.first { $0.name == name }?.value }

    /// The row as one JSON-like object.
    public var value: DataValue { .object(fields) }
}

extension DataValue {
    /// Parses one JSON document, keeping object members in their order.
    public init(json text: String) throws(DatasetError) {
        do { self = try JSONParser.parse(text) } catch {
            throw .malformed("invalid JSON at byte \(error.offset): \(error.message)")
        }
    }

    /// A number as a Double (JSON does not tell integers from decimals; this model does).
    public var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
}
