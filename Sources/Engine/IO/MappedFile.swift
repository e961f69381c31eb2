import Foundation

/// A read-only memory map of a whole file.
///
/// Model files are hundreds of megabytes; mapping them lets the kernel page in
/// only what is read (the header, then each tensor once while it is
/// converted) instead of copying the file into the heap first.
public final class MappedFile: @unchecked Sendable {
    public let url: URL
    public let bytes: UnsafeRawBufferPointer

    public init(_ url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw TensorError.invalidArgument(op: "MappedFile", detail: "cannot open \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw TensorError.invalidArgument(op: "MappedFile", detail: "cannot stat \(url.path)") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw TensorError.invalidArgument(op: "MappedFile", detail: "\(url.path) is not a regular file") }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw TensorError.invalidArgument(op: "MappedFile", detail: "cannot map \(url.path): \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// A bounds-checked little-endian cursor over untrusted bytes: every read
/// checks the remaining length and throws instead of reading past the end.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int
    public let context: String

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, context: String) {
        self.bytes = bytes
        self.offset = offset
        self.context = context
    }

    public func truncated(_ what: String) -> TensorError {
        .invalidArgument(op: context, detail: "file is truncated: \(what) at byte \(offset) runs past the end (\(bytes.count) bytes)")
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        guard offset <= bytes.count - MemoryLayout<T>.size else { throw truncated(what) }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    public mutating func readBytes(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, offset <= bytes.count - count else { throw truncated(what) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }
}
