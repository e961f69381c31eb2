import Engine
import Foundation
import Support

/// Where installed models live: `$ZEROSEARCH_CACHE/models/<name>/` (default
/// `~/.cache/zerosearch`), one folder per model holding either a GGUF file or
/// a Hugging Face folder's files. Commands accept a model's name or any path.
public struct ModelStore: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public static var cacheRoot: URL {
        if let custom = ProcessInfo.processInfo.environment["ZEROSEARCH_CACHE"], !custom.isEmpty {
            return URL(fileURLWithPath: custom)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/zerosearch")
    }

    public static var `default`: ModelStore { ModelStore(root: cacheRoot.appendingPathComponent("models")) }

    /// The folder a model of this name is installed in (`org/name` becomes `org--name`).
    public func folder(for name: String) -> URL {
        root.appendingPathComponent(name.replacingOccurrences(of: "/", with: "--"))
    }

    /// The model file or folder for a path, or for an installed model's name.
    public func resolve(_ pathOrName: String) throws -> URL {
        let path = URL(fileURLWithPath: (pathOrName as NSString).expandingTildeInPath)
        if FileManager.default.fileExists(atPath: path.path) { return path }
        let installed = folder(for: pathOrName)
        if let model = Self.modelFile(in: installed) { return model }
        throw InvalidInput(
            place: "models",
            problem:
                "\(pathOrName) is neither a file nor an installed model; install it with `zerosearch models pull \(pathOrName)` (installed: \(list().map(\.name).joined(separator: ", ")))"
        )
    }

    /// An installed model folder's GGUF file, or the folder itself when it is
    /// a Hugging Face checkpoint.
    static func modelFile(in folder: URL) -> URL? {
        let fm = FileManager.default
        if fm.fileExists(atPath: folder.appendingPathComponent("config.json").path) { return folder }
        let files = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".gguf") }.sorted().first.map { folder.appendingPathComponent($0) }
    }

    public struct Installed: Sendable {
        public let name: String
        public let location: URL
        public let bytes: Int64
    }

    public func list() -> [Installed] {
        let fm = FileManager.default
        let names = ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { entry in
            let folder = root.appendingPathComponent(entry)
            guard let location = Self.modelFile(in: folder) else { return nil }
            let files = (try? fm.subpathsOfDirectory(atPath: folder.path)) ?? []
            let bytes = files.reduce(Int64(0)) { total, file in
                let size = (try? fm.attributesOfItem(atPath: folder.appendingPathComponent(file).path)[.size] as? Int64) ?? 0
                return total + size
            }
            return Installed(name: entry.replacingOccurrences(of: "--", with: "/"), location: location, bytes: bytes)
        }
    }
}
