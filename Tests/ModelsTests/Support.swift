import Foundation
import Testing

/// A committed fixture under Tests/ModelsTests/Fixtures.
func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil), "missing fixture \(name)")
}

/// A fresh temporary directory, removed by the caller's `defer`.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `mutate(bytes of source)` to a temporary file and returns it.
func corruptedCopy(of source: URL, in folder: URL, name: String, _ mutate: (inout [UInt8]) -> Void) throws -> URL {
    var bytes = [UInt8](try Data(contentsOf: source))
    mutate(&bytes)
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}
