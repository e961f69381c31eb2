import Foundation
import Models
import Search
import Support
import Yams

/// Reading and writing the YAML form of `TrainConfig`: the user's file is laid
/// over the defaults (so a file names only what it changes), `--set a.b=v`
/// overrides are laid over that, and every key must be one the config has.
extension TrainConfig {
    /// The config in `text` laid over the defaults, with relative paths
    /// resolved against `folder` (the config file's) when given, then the
    /// `--set` overrides laid over that. Checked with `validate()`.
    public static func load(
        yaml text: String, overrides: [String] = [], source: String = "config",
        folder: URL? = nil
    ) throws -> TrainConfig {
        let node = try composeMapping(yaml: text, source: source, of: "sections (policy:, rollout:, …)")
        var config = try decode(node, source: source)
        if let folder { config = config.resolvingPaths(against: folder) }
        if !overrides.isEmpty {
            config = try decode(try applying(overrides, to: Yams.compose(yaml: config.yaml())!), source: "--set")
        }
        try config.validate()
        return config
    }

    /// The config file at `url`; relative paths in it resolve against its
    /// folder, those given with `--set` against the working directory, so
    /// the loaded config holds absolute paths and runs the same from anywhere.
    public static func load(contentsOf url: URL, overrides: [String] = []) throws -> TrainConfig {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw InvalidInput(place: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        let folder = url.deletingLastPathComponent().standardizedFileURL
        let config = try load(yaml: text, overrides: overrides, source: url.lastPathComponent, folder: folder)
            .resolvingPaths(against: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        try config.validate()
        return config
    }

    /// The whole config as YAML (`yamlText`).
    public func yaml() throws -> String { try yamlText(self) }
}

/// `value` as YAML, keys in declaration order, and numbers as people write
/// them (`0.7`, `120.0`) where Yams alone would write a Float's widened digits
/// in exponent form (`6.99999988079071e-1`).
public func yamlText<Settings: Encodable>(_ value: Settings) throws -> String {
    guard let node = try Yams.compose(yaml: YAMLEncoder().encode(value)) else { return "" }
    return try Yams.serialize(node: readableNumbers(node))
}

private func readableNumbers(_ node: Node) -> Node {
    switch node {
    case .scalar(var scalar):
        guard scalar.style == .plain, Resolver.default.resolveTag(of: node) == .float, let value = Double(scalar.string), value.isFinite
        else { return node }
        // A Float field widened to Double prints as the Float it was.
        scalar.string = Double(Float(value)) == value ? "\(Float(value))" : "\(value)"
        return .scalar(scalar)
    case .mapping(let mapping):
        return .mapping(Node.Mapping(mapping.map { ($0.key, readableNumbers($0.value)) }, mapping.tag, mapping.style))
    case .sequence(let sequence):
        return .sequence(Node.Sequence(sequence.map(readableNumbers), sequence.tag, sequence.style))
    }
}

extension TrainConfig {
    /// `node` laid over the defaults: every key must be one the config has.
    private static func decode(_ node: Node, source: String) throws -> TrainConfig {
        let defaults = try Yams.compose(yaml: TrainConfig().yaml())!
        // Optional sections (LoRA) are absent from the defaults; a file that
        // opens one gets that section's own defaults under it.
        var everything = TrainConfig()
        everything.policy.lora = LoRAConfig()
        let optionals = try Yams.compose(yaml: everything.yaml())!
        try checkKeys(node, against: optionals, path: [])
        do {
            return try YAMLDecoder().decode(
                TrainConfig.self, from: Yams.serialize(node: merging(node, over: defaults, optionals: optionals)))
        } catch let error as DecodingError {
            throw InvalidInput(place: source, problem: describe(error))
        }
    }

    /// The config with its relative file paths made absolute against
    /// `folder`: question files and indexes always; a model when the path
    /// exists there or is written as one (`./sim`, `../runs/sim`, `x.gguf`),
    /// since `smollm2-135m-instruct` is an installed model and `org/name` a
    /// Hugging Face repository.
    public func resolvingPaths(against folder: URL) -> TrainConfig {
        func file(_ path: String) -> String {
            path.isEmpty || path.hasPrefix("/") ? path : folder.appendingPathComponent(path).standardizedFileURL.path
        }
        func existing(_ path: String) -> String {
            let isPath =
                path.hasPrefix("./") || path.hasPrefix("../") || path.hasSuffix(".gguf")
                || FileManager.default.fileExists(atPath: file(path))
            return isPath ? file(path) : path
        }
        func spec(_ text: String) -> String {
            guard let parsed = try? EngineSpec(parsing: text) else { return text }
            switch parsed {
            case .simulator(let model): return "sim:" + existing(model)
            case .bm25(let index): return "bm25:" + file(index)
            case .simulatorServers, .retriever, .google: return text
            }
        }
        var config = self
        config.policy.model = existing(policy.model)
        config.data.train = file(data.train)
        config.evaluation.data = file(evaluation.data)
        config.engine.spec = spec(engine.spec)
        config.evaluation.engine = spec(evaluation.engine)
        return config
    }
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
        throw InvalidInput(place: source, problem: describe(error))
    }
}

/// `value` with the settings of a YAML file laid over it (a file names only
/// what it changes); every key must be one `value` already has.
public func overlaying<Settings: Codable>(_ value: Settings, yaml text: String, source: String) throws -> Settings {
    let node = try composeMapping(yaml: text, source: source, of: "settings")
    let current = try Yams.compose(yaml: YAMLEncoder().encode(value))!
    try checkKeys(node, against: current, path: [])
    do {
        return try YAMLDecoder().decode(Settings.self, from: Yams.serialize(node: merging(node, over: current, optionals: current)))
    } catch let error as DecodingError {
        throw InvalidInput(place: source, problem: describe(error))
    }
}

private func applying(_ overrides: [String], to node: Node) throws -> Node {
    var node = node
    for override in overrides {
        guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
            throw InvalidInput(place: "--set", problem: "'\(override)' is not KEY=VALUE (e.g. actor.lr=1e-6)")
        }
        let path = override[..<equals].split(separator: ".").map(String.init)
        let text = String(override[override.index(after: equals)...])
        try checkNesting(yaml: text, source: "--set")
        let value = (try? Yams.compose(yaml: text)) ?? nil
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
            let suggestion =
                names.min { editDistance($0, name) < editDistance($1, name) }.map {
                    " (did you mean \((path + [$0]).joined(separator: "."))?)"
                } ?? ""
            throw InvalidInput(place: place, problem: "unknown setting\(suggestion)")
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

private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
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

/// YAML nested deeper than this is refused before it is parsed: the parser
/// recurses once per level, and a few thousand `[` overflow the stack.
let maximumYAMLDepth = 64

/// A config file's text as a YAML mapping (empty text: an empty mapping).
private func composeMapping(yaml text: String, source: String, of what: String) throws -> Node {
    let node: Node
    do {
        node = try composeBounded(yaml: text, source: source) ?? Node.mapping(Node.Mapping([]))
    } catch let error as InvalidInput {
        throw error
    } catch {
        throw InvalidInput(place: source, problem: "not valid YAML: \(error)")
    }
    guard node.mapping != nil else { throw InvalidInput(place: source, problem: "must be a mapping of \(what)") }
    return node
}

/// `Yams.compose`, after `checkNesting`.
func composeBounded(yaml text: String, source: String) throws -> Node? {
    try checkNesting(yaml: text, source: source)
    return try Yams.compose(yaml: text)
}

/// Refuses `text` if it nests deeper than `maximumYAMLDepth` levels
/// (indented blocks, `- ` items and `[`/`{` collections counted together;
/// quoted text and comments skipped).
func checkNesting(yaml text: String, source: String) throws {
    var indents: [Int] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
        let indent = line.prefix { $0 == " " }.count
        let content = line.dropFirst(indent)
        guard !content.isEmpty, !content.hasPrefix("#") else { continue }
        while let last = indents.last, last >= indent { indents.removeLast() }
        indents.append(indent)
        var depth = indents.count + content.prefix { $0 == "-" || $0 == " " }.filter { $0 == "-" }.count
        var quote: Character?
        for character in content {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" {
                break
            } else if character == "[" || character == "{" {
                depth += 1
                try requireValid(depth <= maximumYAMLDepth, source, "nested deeper than \(maximumYAMLDepth) levels")
            } else if character == "]" || character == "}" {
                depth -= 1
            }
        }
        try requireValid(depth <= maximumYAMLDepth, source, "nested deeper than \(maximumYAMLDepth) levels")
    }
}
