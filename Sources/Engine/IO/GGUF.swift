import Foundation
import Support

/// A metadata value of a GGUF file. Integers keep their sign class, floats
/// are widened to Double; arrays hold values of one type.
public enum GGUFValue: Sendable, Equatable {
    case uint(UInt64)
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [GGUFValue]? { if case .array(let a) = self { a } else { nil } }
    public var int: Int? {
        switch self {
        case .uint(let v): Int(exactly: v)
        case .int(let v): Int(exactly: v)
        default: nil
        }
    }
    public var double: Double? {
        switch self {
        case .float(let v): v
        case .uint(let v): Double(v)
        case .int(let v): Double(v)
        default: nil
        }
    }
}

/// Where one tensor lives in a GGUF file. `dimensions` are ggml's order
/// (fastest-varying first), so a PyTorch `[out, in]` weight reads `[in, out]`.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    public let dimensions: [Int]
    public let type: GGMLType
    /// Byte offset from the start of the data section.
    public let offset: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
    /// The shape in row-major (PyTorch) order.
    public var shape: [Int] { dimensions.reversed() }
    public var byteCount: Int { elementCount / type.blockSize * type.bytesPerBlock }
}

/// A GGUF v2/v3 file (llama.cpp's model format): a header, key/value
/// metadata, tensor descriptors, then aligned tensor data. The file is
/// memory-mapped; `tensor(_:)` converts one tensor to Float32 on demand.
///
/// Every length, count and offset is checked against the file size before
/// use, so a truncated or corrupted file gives an error naming what is wrong.
public final class GGUFFile: @unchecked Sendable {
    public let url: URL
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Tensor descriptors in file order.
    public let tensorInfos: [GGUFTensorInfo]
    private let index: [String: Int]
    private let file: MappedFile
    private let dataStart: Int

    public init(contentsOf url: URL) throws {
        self.url = url
        let op = "GGUF(\(url.lastPathComponent))"
        file = try MappedFile(url)
        var reader = ByteReader(file.bytes, context: op)
        let magic = try reader.read(UInt32.self, "magic")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw InvalidInput(place: op, problem: "not a GGUF file (magic \(String(magic, radix: 16)), expected 46554747)")
        }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw InvalidInput(place: op, problem: "GGUF version \(version) is not supported (2 and 3 are)")
        }
        let tensorCount = try reader.read(UInt64.self, "tensor count")
        let metadataCount = try reader.read(UInt64.self, "metadata count")
        // Each entry needs at least a few bytes, which bounds what a corrupted count can ask for.
        guard tensorCount <= UInt64(file.bytes.count / 24), metadataCount <= UInt64(file.bytes.count / 12) else {
            throw InvalidInput(
                place: op, problem: "\(tensorCount) tensors / \(metadataCount) metadata entries cannot fit in \(file.bytes.count) bytes")
        }
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<metadataCount {
            let key = try Self.readString(&reader, "metadata key")
            let type = try reader.read(UInt32.self, "type of \(key)")
            metadata[key] = try Self.readValue(&reader, type: type, key: key, depth: 0)
        }
        self.metadata = metadata

        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for _ in 0..<tensorCount {
            let name = try Self.readString(&reader, "tensor name")
            let rank = try reader.read(UInt32.self, "rank of \(name)")
            guard (1...4).contains(rank) else {
                throw InvalidInput(place: op, problem: "tensor \(name) has rank \(rank) (1 to 4 allowed)")
            }
            var dimensions: [Int] = []
            var elements = 1
            for _ in 0..<rank {
                let d = try reader.read(UInt64.self, "dimensions of \(name)")
                guard let dim = Int(exactly: d), dim >= 0, !elements.multipliedReportingOverflow(by: dim).overflow else {
                    throw InvalidInput(place: op, problem: "tensor \(name) has an impossible dimension \(d)")
                }
                elements *= dim
                dimensions.append(dim)
            }
            let rawType = try reader.read(UInt32.self, "type of \(name)")
            guard let type = GGMLType(rawValue: rawType) else {
                throw InvalidInput(
                    place: op, problem: "tensor \(name) has ggml type \(rawType), which is not supported (\(GGMLType.supportedNames))")
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw InvalidInput(
                    place: op,
                    problem: "tensor \(name): row length \(dimensions[0]) is not a multiple of the \(type) block size \(type.blockSize)")
            }
            let offset = try reader.read(UInt64.self, "offset of \(name)")
            guard let start = Int(exactly: offset) else {
                throw InvalidInput(place: op, problem: "tensor \(name) has offset \(offset)")
            }
            guard index[name] == nil else { throw InvalidInput(place: op, problem: "tensor \(name) appears twice") }
            index[name] = infos.count
            infos.append(GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: start))
        }
        let alignment = try Self.alignment(metadata["general.alignment"], op: op)
        dataStart = (reader.offset + alignment - 1) / alignment * alignment
        let dataBytes = file.bytes.count - min(dataStart, file.bytes.count)
        for info in infos {
            // Sizes from the file are checked before any sum: a byte count that
            // wraps around 2^64 would pass a plain end-of-file comparison.
            guard let bytes = checkedProduct([info.elementCount / info.type.blockSize, info.type.bytesPerBlock]),
                info.offset <= dataBytes, bytes <= dataBytes - info.offset
            else {
                throw InvalidInput(
                    place: "\(op): tensor \(info.name)",
                    problem:
                        "\(info.dimensions) \(info.type) at data offset \(info.offset) runs past the end of the file (\(file.bytes.count) bytes): the file is truncated or corrupt"
                )
            }
        }
        tensorInfos = infos
        self.index = index
    }

    public func info(_ name: String) -> GGUFTensorInfo? { index[name].map { tensorInfos[$0] } }

    /// `general.alignment`: 32 when absent, else a power of two up to 64 KiB
    /// (llama.cpp's files use 32; a huge one would push the data past any file).
    static func alignment(_ value: GGUFValue?, op: String) throws -> Int {
        guard let value else { return 32 }
        guard let alignment = value.int, (1...65536).contains(alignment), alignment.nonzeroBitCount == 1 else {
            throw InvalidInput(place: "\(op): general.alignment", problem: "must be a power of two up to 65536, got \(value)")
        }
        return alignment
    }

    /// The raw bytes of a tensor, as stored.
    public func rawBytes(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[dataStart + info.offset..<dataStart + info.offset + info.byteCount])
    }

    /// A tensor converted to Float32, in row-major (PyTorch) shape.
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = info(name) else {
            throw InvalidInput(place: "GGUF(\(url.lastPathComponent))", problem: "no tensor named \(name)")
        }
        let result = Tensor(uninitialized: info.shape)
        try dequantize(rawBytes(info), type: info.type, count: info.elementCount, into: result.pointer)
        return result
    }

    private static func readString(_ reader: inout ByteReader, _ what: String) throws -> String {
        let length = try reader.read(UInt64.self, "length of \(what)")
        guard length <= UInt64(reader.bytes.count - reader.offset) else { throw reader.truncated(what) }
        let bytes = try reader.readBytes(Int(length), what)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func readValue(_ reader: inout ByteReader, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try reader.read(UInt8.self, key)))
        case 1: return .int(Int64(try reader.read(Int8.self, key)))
        case 2: return .uint(UInt64(try reader.read(UInt16.self, key)))
        case 3: return .int(Int64(try reader.read(Int16.self, key)))
        case 4: return .uint(UInt64(try reader.read(UInt32.self, key)))
        case 5: return .int(Int64(try reader.read(Int32.self, key)))
        case 6: return .float(Double(Float(bitPattern: try reader.read(UInt32.self, key))))
        case 7:
            let byte = try reader.read(UInt8.self, key)
            guard byte <= 1 else { throw InvalidInput(place: reader.context, problem: "\(key): boolean byte \(byte)") }
            return .bool(byte == 1)
        case 8: return .string(try readString(&reader, key))
        case 9:
            guard depth == 0 else {
                throw InvalidInput(place: reader.context, problem: "\(key): nested arrays are not supported")
            }
            let elementType = try reader.read(UInt32.self, "element type of \(key)")
            let count = try reader.read(UInt64.self, "length of \(key)")
            guard count <= UInt64(reader.bytes.count - reader.offset) else { throw reader.truncated("array \(key) of \(count) elements") }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<count { values.append(try readValue(&reader, type: elementType, key: key, depth: depth + 1)) }
            return .array(values)
        case 10: return .uint(try reader.read(UInt64.self, key))
        case 11: return .int(try reader.read(Int64.self, key))
        case 12: return .float(Double(bitPattern: try reader.read(UInt64.self, key)))
        default: throw InvalidInput(place: reader.context, problem: "\(key) has unknown value type \(type)")
        }
    }
}
