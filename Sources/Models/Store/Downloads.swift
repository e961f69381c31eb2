import Engine
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// HTTP(S) fetches with a timeout and bounded retries; a download lands in
/// its destination only complete (a temporary file, renamed at the end) and,
/// when a digest is known, verified.
struct Downloader: Sendable {
    var attempts = 3
    var timeout: TimeInterval = 120
    var headers: [String: String] = [:]

    enum Failure: Error, CustomStringConvertible {
        case status(URL, Int)
        case digest(URL, expected: String, got: String)

        var description: String {
            switch self {
            case let .status(url, code): "GET \(url.absoluteString) answered HTTP \(code)"
            case let .digest(url, expected, got): "\(url.lastPathComponent): SHA-256 \(got) does not match the published \(expected)"
            }
        }
    }

    private var session: URLSession {
        let configuration = URLSessionConfiguration.default
        configuration.timeoutIntervalForRequest = timeout
        return URLSession(configuration: configuration)
    }

    private func request(_ url: URL) -> URLRequest {
        var request = URLRequest(url: url)
        for (field, value) in headers { request.setValue(value, forHTTPHeaderField: field) }
        return request
    }

    /// The body of a GET; 404 gives nil so optional files can be probed.
    func data(_ url: URL) async throws -> Data? {
        try await retrying(url) {
            let (data, response) = try await session.data(for: request(url))
            let code = (response as? HTTPURLResponse)?.statusCode ?? 200
            if code == 404 { return nil }
            guard (200..<300).contains(code) else { throw Failure.status(url, code) }
            return data
        }
    }

    /// Downloads `url` to `destination`, checking the SHA-256 when given.
    func download(_ url: URL, to destination: URL, sha256: String? = nil) async throws {
        try await retrying(url) {
            let (temporary, response) = try await session.download(for: request(url))
            defer { try? FileManager.default.removeItem(at: temporary) }
            let code = (response as? HTTPURLResponse)?.statusCode ?? 200
            guard (200..<300).contains(code) else { throw Failure.status(url, code) }
            if let sha256 {
                var hasher = SHA256()
                try hasher.update(contentsOf: temporary)
                let got = hasher.hexDigest()
                guard got == sha256.lowercased() else { throw Failure.digest(url, expected: sha256, got: got) }
            }
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: destination)
            try FileManager.default.moveItem(at: temporary, to: destination)
        }
    }

    /// Retries transport errors and 5xx answers with exponential back-off;
    /// a 4xx or a bad digest fails at once.
    private func retrying<T>(_ url: URL, _ body: () async throws -> T) async throws -> T {
        var delay: UInt64 = 500_000_000
        var attempt = 0
        while true {
            attempt += 1
            do { return try await body() } catch {
                let permanent: Bool
                switch error {
                case Failure.status(_, let code): permanent = code < 500
                case is Failure: permanent = true
                default: permanent = false
                }
                if permanent || attempt >= attempts { throw error }
                try await Task.sleep(nanoseconds: delay)
                delay *= 2
            }
        }
    }
}
