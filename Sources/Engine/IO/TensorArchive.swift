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

    public init(contentsOf url: URL) throws {
        let op = "TensorArchive"
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw TensorError.invalidArgument(op: op, detail: "cannot read \(url.path): \(error.localizedDescription)")
        }
        guard data.count >= 8 else { throw TensorError.invalidArgument(op: op, detail: "\(url.path) is too short to be safetensors") }
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw TensorError.invalidArgument(op: op, detail: "\(url.path): header length \(headerLength) exceeds file size \(data.count)")
        }
        let dataStart = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart)) as? [String: Any] else {
            throw TensorError.invalidArgument(op: op, detail: "\(url.path): header is not a JSON object")
        }
        for (name, entry) in header {
            if name == "__metadata__" {
                metadata = (entry as? [String: String]) ?? [:]
                continue
            }
            guard let info = entry as? [String: Any], let dtypeName = info["dtype"] as? String,
                let dtype = DType(rawValue: dtypeName), let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int],
                offsets.count == 2,
                shape.allSatisfy({ $0 >= 0 })
            else {
                throw TensorError.invalidArgument(
                    op: op, detail: "\(url.path): tensor \(name) has a malformed entry or an unsupported dtype (F32, F16, BF16 are read)")
            }
            let count = shape.reduce(1, *)
            guard offsets[0] >= 0, offsets[1] - offsets[0] == count * dtype.byteSize, dataStart + offsets[1] <= data.count else {
                throw TensorError.invalidArgument(
                    op: op, detail: "\(url.path): tensor \(name) \(describe(shape)) has offsets \(offsets) outside the file")
            }
            tensors[name] = data.withUnsafeBytes { raw in
                Tensor(converting: raw.baseAddress! + dataStart + offsets[0], dtype: dtype, shape: shape)
            }
        }
    }
}
