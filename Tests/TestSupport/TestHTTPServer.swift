import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that answers each
/// request as a script says: JSON after a delay, an error status, nothing at
/// all, half a body, or a dropped connection. It records every request and
/// the peak number answered at once. One thread per connection, each closed
/// after one answer; every read gives up after 5 s, so a test that forgets a
/// connection still ends.
public final class TestHTTPServer: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [String: String]
        public var headers: [String: String]
        public var body: Data

        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    }

    public enum Reply: Sendable {
        case json(String, status: Int = 200, after: Duration = .zero)
        /// Reads the request and never answers.
        case silence
        /// Sends the head and part of the promised body, then nothing.
        case partial
        /// Closes the connection without a word.
        case drop
    }

    private struct Log {
        var requests: [Request] = []
        var inFlight = 0
        var peak = 0
    }

    public let port: UInt16
    private let listener: Int32
    private let script: @Sendable (Request, Int) -> Reply
    private let log = Mutex(Log())

    public var url: URL { URL(string: "http://127.0.0.1:\(port)")! }
    public var requests: [Request] { log.withLock { $0.requests } }
    public var peakConcurrency: Int { log.withLock { $0.peak } }

    /// `script` gets each request and its 0-based number.
    public init(_ script: @escaping @Sendable (Request, Int) -> Reply) {
        self.script = script
        // Calls stay out of `precondition`: release tests build with
        // -Ounchecked, which does not evaluate its condition at all.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                [bind(listener, pointer, length), getsockname(listener, pointer, &length), listen(listener, 128)]
            }
        }
        if listener < 0 || status != [0, 0, 0] { fatalError("cannot listen on 127.0.0.1: errno \(errno)") }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Stops accepting; connections already open finish on their own.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            Thread.detachNewThread { [self] in serve(connection) }
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var limit = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard let request = read(connection) else { return }
        let number = log.withLock { log in
            log.requests.append(request)
            log.inFlight += 1
            log.peak = max(log.peak, log.inFlight)
            return log.requests.count - 1
        }
        // A request stops counting just before its answer goes out: once the
        // client has the answer it may send the next one at once.
        let finished = { self.log.withLock { $0.inFlight -= 1 } }
        switch script(request, number) {
        case let .json(body, status, delay):
            Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) * 1e-18)
            finished()
            let bytes = Array(body.utf8)
            write(connection, head(status: status, length: bytes.count) + bytes)
            // Close gracefully: closing with unread input would send a reset,
            // which can reach the client before it has read the answer.
            shutdown(connection, Int32(SHUT_WR))
            waitForHangUp(connection)
        case .silence:
            waitForHangUp(connection)
            finished()
        case .partial:
            write(connection, head(status: 200, length: 100) + Array(#"{"result": [["#.utf8))
            waitForHangUp(connection)
            finished()
        case .drop:
            finished()
        }
    }

    private func head(status: Int, length: Int) -> [UInt8] {
        Array(
            "HTTP/1.1 \(status) Scripted\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8)
    }

    private func write(_ connection: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }
            sent += count
        }
    }

    /// Returns when the client closes its end (or after the read timeout).
    private func waitForHangUp(_ connection: Int32) {
        var byte: UInt8 = 0
        while recv(connection, &byte, 1, 0) > 0 {}
    }

    private func read(_ connection: Int32) -> Request? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return false }
            buffer += chunk[..<count]
            return true
        }
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            guard fill() else { return nil }
            headEnd = (0...max(0, buffer.count - separator.count)).first { buffer[$0..<min($0 + 4, buffer.count)].elementsEqual(separator) }
        }
        let lines = String(decoding: buffer[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let start = lines[0].split(separator: " ")
        guard start.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["expect"]?.lowercased() == "100-continue" { write(connection, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }
        let bodyStart = headEnd! + separator.count
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < bodyStart + length {
            guard fill() else { return nil }
        }
        let target = String(start[1])
        let parts = target.split(separator: "?", maxSplits: 1)
        var query: [String: String] = [:]
        for pair in parts.count > 1 ? parts[1].split(separator: "&") : [] {
            let field = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            query[field[0]] = field.count > 1 ? field[1] : ""
        }
        return Request(
            method: String(start[0]), path: String(parts[0]), query: query, headers: headers,
            body: Data(buffer[bodyStart..<(bodyStart + length)]))
    }
}
