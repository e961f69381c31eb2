import Foundation
import Support

/// A set of named tensors plus string metadata in the safetensors layout (an
/// 8-byte little-endian header length, a JSON header, raw data), so anything
/// the engine saves opens with the `safetensors` Python package. F32, F16 and
/// BF16 entries are read (widened to Float32); `storage` picks the format
/// written. Writes are atomic: a temporary file in the same folder, then a
/// rename.
public struct TensorArchive {
    public var tensors: [String: Tensor] = [:]
    public var metadata: [String: String] = [:]
    public var storage: DType = .f32

    public init(storage: DType = .f32) { self.storage = storage }

    public func write(to url: URL) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            let bytes = t.count * storage.byteSize
            header[name] = ["dtype": storage.rawValue, "shape": t.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header so the data starts 8-byte aligned, as the format recommends.
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names { data.append(contentsOf: tensors[name]!.encoded(as: storage)) }
        try writeAtomically(data, to: url)
    }

    /// Reads a safetensors file, checked as the format's own reader checks
    /// it: a header of sane size that is a JSON object, every entry's size
    /// computed without overflow and equal to its byte range, and the
    /// ranges covering the data exactly, in order, without gaps or overlaps
    /// (a shifted or one-byte-short header would otherwise load garbage).
    public init(contentsOf url: URL) throws {
        let place = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw InvalidInput(place: place, problem: "cannot read: \(error.localizedDescription)")
        }
        try requireValid(data.count >= 8, place, "too short to be safetensors (\(data.count) bytes)")
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        try requireValid(
            headerLength <= min(UInt64(data.count - 8), Self.maxHeaderBytes), "\(place): header length",
            "\(headerLength) bytes, beyond the file (\(data.count) bytes) or the format's \(Self.maxHeaderBytes)-byte limit")
        let dataStart = 8 + Int(headerLength)
        let dataBytes = data.count - dataStart
        let header: [JSONValue.Member]
        do { header = try JSONValue.parse(data.subdata(in: 8..<dataStart)).members ?? [] } catch {
            throw InvalidInput(place: "\(place): header", problem: error.located)
        }
        var entries: [(name: String, dtype: DType, shape: [Int], range: Range<Int>)] = []
        for member in header {
            if member.name == "__metadata__" {
                guard let pairs = member.value.members, pairs.allSatisfy({ $0.value.string != nil }) else {
                    throw InvalidInput(place: "\(place): __metadata__", problem: "must map strings to strings")
                }
                metadata = Dictionary(pairs.map { ($0.name, $0.value.string!) }, uniquingKeysWith: { $1 })
                continue
            }
            let field = "\(place): tensor \(member.name)"
            let integers = { (key: String) in member.value[key]?.list?.map { $0.int.flatMap { Int(exactly: $0) } } }
            guard let dtypeName = member.value["dtype"]?.string, let shape = integers("shape"), let offsets = integers("data_offsets"),
                offsets.count == 2, shape.count <= 8
            else { throw InvalidInput(place: field, problem: "malformed entry (dtype, shape of at most 8 integers, two data_offsets)") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw InvalidInput(place: field, problem: "dtype \(dtypeName) is not read (F32, F16, BF16 are)")
            }
            let dims = shape.compactMap { $0 }
            guard dims.count == shape.count, let bytes = checkedProduct(dims + [dtype.byteSize]) else {
                throw InvalidInput(place: "\(field) shape", problem: "\(shape.map { $0.map(String.init) ?? "?" }) is not a size")
            }
            guard let start = offsets[0], let end = offsets[1], (0...dataBytes).contains(start), (start...dataBytes).contains(end),
                end - start == bytes
            else {
                throw InvalidInput(
                    place: "\(field) data_offsets",
                    problem:
                        "\(offsets.map { $0.map(String.init) ?? "?" }) do not hold the \(bytes) bytes of \(describe(dims)) \(dtypeName) inside the file's \(dataBytes) data bytes: truncated or corrupt"
                )
            }
            entries.append((member.name, dtype, dims, start..<end))
        }
        var covered = 0
        for entry in entries.sorted(by: { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }) {
            try requireValid(
                entry.range.lowerBound == covered, "\(place): tensor \(entry.name) data_offsets",
                entry.range.lowerBound < covered
                    ? "overlap the tensor before it (start at \(entry.range.lowerBound), before \(covered))"
                    : "leave a gap (start at \(entry.range.lowerBound), the tensor before ends at \(covered))")
            covered = entry.range.upperBound
        }
        try requireValid(covered == dataBytes, "\(place): data", "\(dataBytes) bytes, of which the tensors cover \(covered)")
        for entry in entries {
            tensors[entry.name] = data.withUnsafeBytes { raw in
                Tensor(converting: raw.baseAddress! + dataStart + entry.range.lowerBound, dtype: entry.dtype, shape: entry.shape)
            }
        }
    }

    /// The safetensors package refuses larger headers.
    static let maxHeaderBytes: UInt64 = 100_000_000
}
