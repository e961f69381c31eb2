import Engine
import Foundation
import Models
import Yams

/// Reading and writing the YAML form of `TrainConfig`: the user's file is laid
/// over the defaults (so a file names only what it changes), `--set a.b=v`
/// overrides are laid over that, and every key must be one the config has.
extension TrainConfig {
    public static func load(yaml text: String, overrides: [String] = [], source: String = "config") throws -> TrainConfig {
        var node: Node
        do {
            node = try Yams.compose(yaml: text) ?? Node.mapping(Node.Mapping([]))
        } catch {
            throw ConfigError("\(source) is not valid YAML: \(error)")
        }
        guard node.mapping != nil else { throw ConfigError("\(source) must be a mapping of sections (policy:, rollout:, …)") }
        node = try applying(overrides, to: node)
        let defaults = try Yams.compose(yaml: TrainConfig().yaml())!
        // Optional sections (LoRA) are absent from the defaults; a file that
        // opens one gets that section's own defaults under it.
        var everything = TrainConfig()
        everything.policy.lora = LoRAConfig()
        let optionals = try Yams.compose(yaml: everything.yaml())!
        try checkKeys(node, against: optionals, path: [])
        let merged = merging(node, over: defaults, optionals: optionals)
        do {
            let config = try YAMLDecoder().decode(TrainConfig.self, from: Yams.serialize(node: merged))
            try config.validate()
            return config
        } catch let error as DecodingError {
            throw ConfigError("\(source): \(describe(error))")
        }
    }

    public static func load(contentsOf url: URL, overrides: [String] = []) throws -> TrainConfig {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try load(yaml: text, overrides: overrides, source: url.lastPathComponent)
    }

    public func yaml() throws -> String { try YAMLEncoder().encode(self) }
}

/// `value` with `key.path=value` overrides laid over it (the same `--set`
/// syntax as `TrainConfig.load`, values read as YAML scalars); every key must
/// be one `value` already has.
public func overriding<Settings: Codable>(_ value: Settings, with overrides: [String], source: String = "settings") throws -> Settings {
    guard !overrides.isEmpty else { return value }
    let current = try Yams.compose(yaml: YAMLEncoder().encode(value))!
    let node = try applying(overrides, to: current)
    try checkKeys(node, against: current, path: [])
    do {
        return try YAMLDecoder().decode(Settings.self, from: Yams.serialize(node: node))
    } catch let error as DecodingError {
        throw ConfigError("\(source): \(describe(error))")
    }
}

private func applying(_ overrides: [String], to node: Node) throws -> Node {
    var node = node
    for override in overrides {
        guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
            throw ConfigError("override '\(override)' is not KEY=VALUE (e.g. actor.lr=1e-6)")
        }
        let path = override[..<equals].split(separator: ".").map(String.init)
        let value = (try? Yams.compose(yaml: String(override[override.index(after: equals)...]))) ?? nil
        node = setting(node, path: path[...], to: value ?? Node(""))
    }
    return node
}

private func setting(_ node: Node, path: ArraySlice<String>, to value: Node) -> Node {
    guard let key = path.first else { return value }
    var pairs = node.mapping.map { Array($0) } ?? []
    if let index = pairs.firstIndex(where: { $0.key.string == key }) {
        pairs[index].value = setting(pairs[index].value, path: path.dropFirst(), to: value)
    } else {
        pairs.append((Node(key), setting(Node.mapping(Node.Mapping([])), path: path.dropFirst(), to: value)))
    }
    return Node.mapping(Node.Mapping(pairs))
}

private func checkKeys(_ node: Node, against defaults: Node, path: [String]) throws {
    guard let mapping = node.mapping, let known = defaults.mapping else { return }
    let names = known.keys.compactMap(\.string)
    for (key, value) in mapping {
        let name = key.string ?? "\(key)"
        guard let expected = known[key] else {
            let place = (path + [name]).joined(separator: ".")
            let suggestion = names.min { editDistance($0, name) < editDistance($1, name) }.map { " (did you mean \((path + [$0]).joined(separator: "."))?)" } ?? ""
            throw ConfigError("unknown setting \(place)\(suggestion)")
        }
        try checkKeys(value, against: expected, path: path + [name])
    }
}

private func merging(_ node: Node, over defaults: Node, optionals: Node) -> Node {
    guard let mapping = node.mapping, let base = defaults.mapping else { return node }
    var pairs = Array(base)
    for (key, value) in mapping {
        let optional = optionals.mapping?[key] ?? Node.mapping(Node.Mapping([]))
        if let index = pairs.firstIndex(where: { $0.key == key }) {
            pairs[index].value = merging(value, over: pairs[index].value, optionals: optional)
        } else {
            pairs.append((key, merging(value, over: optional, optionals: optional)))
        }
    }
    return Node.mapping(Node.Mapping(pairs))
}

private func describe(_ error: DecodingError) -> String {
    func place(_ context: DecodingError.Context) -> String {
        context.codingPath.map(\.stringValue).joined(separator: ".")
    }
    switch error {
    case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
        return "\(place(context)): \(context.debugDescription)"
    case .keyNotFound(let key, let context):
        return "\(place(context)): missing \(key.stringValue)"
    @unknown default:
        return "\(error)"
    }
}

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}

private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var diagonal = row[0]
        row[0] = i
        for j in 1...b.count {
            let above = row[j]
            row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
            diagonal = above
        }
    }
    return row[b.count]
}
