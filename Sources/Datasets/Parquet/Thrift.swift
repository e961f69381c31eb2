/// A decoded Thrift compact-protocol value. Parquet metadata is parsed into this
/// generic tree first and then read by field id, so one small decoder serves
/// every metadata struct and unknown (newer) fields are skipped for free.
indirect enum ThriftValue {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case binary([UInt8])
    case list([ThriftValue])
    case map([(ThriftValue, ThriftValue)])
    case structure(ThriftStruct)
}

struct ThriftStruct {
    var fields: [Int16: ThriftValue] = [:]
    /// What the struct is, for error messages; nested structs start with their parent's
    /// name (the wire format does not say) and are renamed by the code that reads them.
    var name: String

    func named(_ newName: String) -> ThriftStruct { ThriftStruct(fields: fields, name: newName) }

    func int(_ id: Int16) -> Int64? { if case .int(let v)? = fields[id] { v } else { nil } }
    func bool(_ id: Int16) -> Bool? { if case .bool(let v)? = fields[id] { v } else { nil } }
    func string(_ id: Int16) -> String? {
        if case .binary(let v)? = fields[id] { String(decoding: v, as: UTF8.self) } else { nil }
    }
    func structure(_ id: Int16) -> ThriftStruct? { if case .structure(let v)? = fields[id] { v } else { nil } }
    func list(_ id: Int16) -> [ThriftValue]? { if case .list(let v)? = fields[id] { v } else { nil } }

    func required<T>(_ value: T?, _ id: Int16, _ field: String) throws(ParquetError) -> T {
        guard let value else { throw .corrupt("\(name) lacks its required field \(field) (id \(id))") }
        return value
    }

    /// An i32 field that must be present and fit its declared width.
    func requiredInt32(_ id: Int16, _ field: String) throws(ParquetError) -> Int {
        let v = try required(int(id), id, field)
        guard let narrow = Int32(exactly: v) else { throw .corrupt("\(name).\(field) = \(v) does not fit in 32 bits") }
        return Int(narrow)
    }
}

/// Reads Thrift compact protocol (the encoding of parquet's footer and page headers).
struct ThriftCompactReader {
    /// Real parquet metadata nests about 6 deep; a hostile file could nest until the stack overflows.
    static let maxDepth = 32

    var cursor: ParquetCursor

    init(_ cursor: ParquetCursor) { self.cursor = cursor }

    mutating func readStruct(named name: String) throws(ParquetError) -> ThriftStruct {
        try readStruct(named: name, depth: 0)
    }

    private mutating func readStruct(named name: String, depth: Int) throws(ParquetError) -> ThriftStruct {
        guard depth < Self.maxDepth else { throw .corrupt("\(name): Thrift structs nest deeper than \(Self.maxDepth)") }
        var result = ThriftStruct(name: name)
        var lastID: Int16 = 0
        while true {
            let header = try cursor.byte("\(name) field header")
            let type = header & 0x0f
            if type == 0 { return result }
            let delta = header >> 4
            let id: Int16
            if delta != 0 {
                id = lastID &+ Int16(delta)
            } else {
                id = try Int16(truncatingIfNeeded: zigzag(cursor.varint("\(name) field id")))
            }
            lastID = id
            result.fields[id] = try readValue(type: type, in: name, depth: depth)
        }
    }

    private mutating func readValue(type: UInt8, in name: String, depth: Int) throws(ParquetError) -> ThriftValue {
        switch type {
        case 1: return .bool(true)
        case 2: return .bool(false)
        case 3: return .int(Int64(Int8(bitPattern: try cursor.byte("\(name) byte"))))
        case 4, 5, 6: return .int(zigzag(try cursor.varint("\(name) integer")))
        case 7: return .double(Double(bitPattern: try cursor.littleEndian(UInt64.self, "\(name) double")))
        case 8:
            let length = try count(cursor.varint("\(name) binary length"), "\(name) binary")
            return .binary(Array(try cursor.take(length, "\(name) binary")))
        case 9, 10:
            let header = try cursor.byte("\(name) list header")
            let elementType = header & 0x0f
            var size = UInt64(header >> 4)
            if size == 15 { size = try cursor.varint("\(name) list size") }
            let n = try count(size, "\(name) list")
            var elements: [ThriftValue] = []
            elements.reserveCapacity(n)
            for _ in 0..<n {
                // Inside a list booleans are a whole byte (1 = true) rather than a field type.
                if elementType == 1 || elementType == 2 {
                    elements.append(.bool(try cursor.byte("\(name) list bool") == 1))
                } else {
                    elements.append(try readValue(type: elementType, in: name, depth: depth + 1))
                }
            }
            return .list(elements)
        case 11:
            let n = try count(cursor.varint("\(name) map size"), "\(name) map")
            guard n > 0 else { return .map([]) }
            let types = try cursor.byte("\(name) map types")
            var pairs: [(ThriftValue, ThriftValue)] = []
            for _ in 0..<n {
                let key = try readValue(type: types >> 4, in: name, depth: depth + 1)
                let value = try readValue(type: types & 0x0f, in: name, depth: depth + 1)
                pairs.append((key, value))
            }
            return .map(pairs)
        case 12: return .structure(try readStruct(named: name, depth: depth + 1))
        default: throw .corrupt("\(name): unknown Thrift type \(type) at byte \(cursor.offset - 1)")
        }
    }

    /// Every element takes at least one byte, so a count beyond the bytes left is a lie
    /// (and would otherwise reserve unbounded memory).
    private func count(_ raw: UInt64, _ item: String) throws(ParquetError) -> Int {
        guard raw <= UInt64(cursor.remaining) else {
            throw .corrupt("\(item) claims \(raw) elements but only \(cursor.remaining) bytes remain")
        }
        return Int(raw)
    }

    private func zigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
}
