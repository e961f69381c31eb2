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
        guard fd >= 0 else { throw InvalidInput(place: url.path, problem: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw InvalidInput(place: url.path, problem: "cannot stat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw InvalidInput(place: url.path, problem: "not a regular file") }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw InvalidInput(place: url.path, problem: "cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// `value` as readable JSON: indented, keys sorted (results files, records).
public func prettyJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try encoder.encode(value)
}

/// Writes to a temporary file beside `url`, then renames it over `url`, so a
/// crash never leaves a half-written file under the real name.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let folder = url.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    try data.write(to: temporary)
    if rename(temporary.path, url.path) != 0 {
        try? FileManager.default.removeItem(at: temporary)
        throw InvalidInput(place: url.path, problem: "cannot rename the written file into place: errno \(errno)")
    }
}

/// Peak resident memory of this process so far, in MiB (`ru_maxrss`).
public func peakResidentMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Files of one JSON value per line (JSONL) in and out of `Codable` types.
public enum JSONLines {
    /// Every non-blank line decoded; a bad line is an `InvalidInput` naming
    /// `file:line`.
    public static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> [T] {
        let decoder = JSONDecoder()
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw InvalidInput(place: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        var values: [T] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.contains(where: { !$0.isWhitespace }) {
            do { values.append(try decoder.decode(T.self, from: Data(line.utf8))) } catch {
                throw InvalidInput(place: "\(url.path):\(number + 1)", problem: "\(error)")
            }
        }
        return values
    }

    /// Writes one sorted-keys JSON object per line, atomically.
    public static func write<T: Encodable>(_ values: [T], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for value in values {
            data.append(try encoder.encode(value))
            data.append(UInt8(ascii: "\n"))
        }
        try writeAtomically(data, to: url)
    }
}
