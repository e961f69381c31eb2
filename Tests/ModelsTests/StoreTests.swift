import Engine
import Foundation
import Models
import Support
import Testing

/// The model store's parts that need no internet: zip extraction, SHA-256,
/// and a Hugging Face pull from a local HTTP server with the hub's layout.
@Suite struct StoreTests {
    @Test func zipEntriesExtractAndCorruptionIsCaught() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = try ZipArchive(fixture("sample.zip"))
        #expect(archive.entries.map(\.name) == ["pkg/stored.txt", "pkg/model.bin"])
        try archive.extract(archive.entries[0], to: folder.appendingPathComponent("stored.txt"))
        try archive.extract(archive.entries[1], to: folder.appendingPathComponent("model.bin"))
        #expect(try String(contentsOf: folder.appendingPathComponent("stored.txt"), encoding: .utf8) == "stored bytes\n")
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("model.bin")) == Data((0..<64).flatMap { _ in (0...255).map(UInt8.init) }))

        let flipped = try corruptedCopy(of: fixture("sample.zip"), in: folder, name: "flipped.zip") { $0[60] ^= 0xFF }
        let damaged = try ZipArchive(flipped)
        #expect(throws: InvalidInput.self) {
            for entry in damaged.entries { try damaged.extract(entry, to: folder.appendingPathComponent("x")) }
        }
        let cut = try corruptedCopy(of: fixture("sample.zip"), in: folder, name: "cut.zip") { $0.removeLast(30) }
        #expect(throws: InvalidInput.self) { _ = try ZipArchive(cut) }
    }

    @Test func sha256MatchesKnownDigests() {
        func digest(_ text: String) -> String {
            var hasher = SHA256()
            Array(text.utf8).withUnsafeBytes { hasher.update($0) }
            return hasher.hexDigest()
        }
        #expect(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    /// Python's `http.server` serving `<repo>/resolve/main/<file>`, as the hub does.
    @Test func pullsAHuggingFaceRepositoryFromALocalServer() async throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let served = folder.appendingPathComponent("site/acme/tiny-qwen2/resolve/main")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(
                at: fixture("tiny-qwen2").appendingPathComponent(file), to: served.appendingPathComponent(file))
        }
        let port = 20000 + Int.random(in: 0..<20000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // The server exits by itself after two minutes: `terminate()` reaches
        // only the first process, and a pyenv shim would leave python behind.
        let script = """
            import functools, http.server, os, sys, threading
            threading.Timer(120, os._exit, [0]).start()
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
            http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
            """
        server.arguments = ["python3", "-c", script, "\(port)", folder.appendingPathComponent("site").path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate() }
        let store = ModelStore(root: folder.appendingPathComponent("models"))
        let endpoint = "http://127.0.0.1:\(port)"
        var installed: URL?
        for _ in 0..<50 where installed == nil {  // the server needs a moment to listen
            installed = try? await store.pull("acme/tiny-qwen2", huggingFaceEndpoint: endpoint)
            if installed == nil { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        let location = try #require(installed)
        #expect(location.path == store.folder(for: "acme/tiny-qwen2").path)
        let model = try Decoder(huggingFaceFolder: location)
        #expect(model.config.architecture == .qwen2)
        #expect(store.list().map(\.name) == ["acme/tiny-qwen2"])
        #expect(try store.resolve("acme/tiny-qwen2").path == location.path)
        // A repository the server does not have fails clearly and leaves nothing behind.
        await #expect(throws: (any Error).self) { _ = try await store.pull("acme/missing", huggingFaceEndpoint: endpoint) }
        #expect(store.list().count == 1)
    }
}
