import Foundation

/// A search engine named on the command line or in a config:
/// `sim:MODEL`, `sim+http://HOST:PORT[,http://HOST2:PORT2…]`, `bm25:INDEX`,
/// `retriever+http://HOST:PORT`, `google`.
public enum EngineSpec: Equatable, Sendable, CustomStringConvertible {
    /// A model in this process plays the search engine.
    case simulator(model: String)
    /// OpenAI-compatible servers (sglang, vLLM) play the search engine.
    case simulatorServers([URL])
    case bm25(index: String)
    /// A Search-R1 retrieval server.
    case retriever(URL)
    /// Google through SerpAPI.
    case google

    public init(parsing text: String) throws {
        func urls(_ list: Substring) throws -> [URL] {
            try list.split(separator: ",").map { part in
                guard let url = URL(string: String(part)), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil
                else {
                    throw EngineSpecError("'\(part)' in engine '\(text)' is not an http(s) URL")
                }
                return url
            }
        }
        if text == "google" {
            self = .google
        } else if text.hasPrefix("sim+") {
            let list = try urls(text.dropFirst(4))
            guard !list.isEmpty else { throw EngineSpecError("engine '\(text)' names no server") }
            self = .simulatorServers(list)
        } else if text.hasPrefix("retriever+") {
            let list = try urls(text.dropFirst(10))
            guard list.count == 1 else { throw EngineSpecError("engine '\(text)' must name exactly one retriever URL") }
            self = .retriever(list[0])
        } else if text.hasPrefix("sim:"), text.count > 4 {
            self = .simulator(model: String(text.dropFirst(4)))
        } else if text.hasPrefix("bm25:"), text.count > 5 {
            self = .bm25(index: String(text.dropFirst(5)))
        } else {
            throw EngineSpecError(
                "unknown engine '\(text)': use sim:MODEL, sim+http://HOST:PORT, bm25:INDEX, retriever+http://HOST:PORT or google")
        }
    }

    public var description: String {
        switch self {
        case .simulator(let model): "sim:\(model)"
        case .simulatorServers(let urls): "sim+" + urls.map(\.absoluteString).joined(separator: ",")
        case .bm25(let index): "bm25:\(index)"
        case .retriever(let url): "retriever+\(url.absoluteString)"
        case .google: "google"
        }
    }

    /// Whether the engine is an LLM that writes documents (and so could be
    /// told gold answers) rather than one that retrieves them.
    public var isSimulated: Bool {
        switch self {
        case .simulator, .simulatorServers: true
        case .bm25, .retriever, .google: false
        }
    }
}

public struct EngineSpecError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
