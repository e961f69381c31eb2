import ArgumentParser
import Foundation
import Generation
import Logging
import Runs
import Search
import Serving
import Training

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model (OpenAI-compatible completions, continuous batching) and a search engine (Search-R1's /retrieve).",
        discussion: """
            Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, POST /retrieve, \
            GET /health, GET /metrics. SIGTERM or SIGINT: new work is refused, work in flight gets --grace \
            seconds, then the server exits 0. docs/serving.md.
            """)

    @Option(help: "GGUF file, Hugging Face folder or installed name (omit to serve only an engine).") var model: String?
    @Option(help: "The model's name in /v1/models and responses (default: the file or folder name).") var servedName: String?
    @Option(
        help: """
            The engine behind /retrieve: bm25:INDEX, sim (the served model as a simulator, batched with \
            the completions), or any engine spec a training config takes.
            """)
    var engine: String?
    @Option(help: "The simulator's prompt format for --engine sim: sft (a tuned simulator) or prompt.") var simulatorMode = "sft"
    @Option(help: "Documents per simulated search.") var topK = 5
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port; the chosen one is printed).") var port = 8000
    @Option(help: "Requests decoding together.") var maxBatch = 16
    @Option(help: "Requests waiting for a batch slot; more are answered 429 at once.") var maxWaiting = 64
    @Option(help: "Prompt tokens read per decoding step over all newcomers.") var prefillChunk = 512
    @Option(help: "Seconds a request may take before it is cancelled (504).") var deadline = 300.0
    @Option(help: "Seconds in-flight requests get to finish after SIGTERM.") var grace = 10.0

    func validate() throws {
        guard model != nil || engine != nil else { throw ValidationError("give --model, --engine or both") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0…65535") }
        guard maxBatch > 0, maxWaiting >= 0, prefillChunk > 0 else {
            throw ValidationError("--max-batch and --prefill-chunk must be positive, --max-waiting ≥ 0")
        }
        guard deadline > 0, grace >= 0, deadline.isFinite, grace.isFinite else { throw ValidationError("--deadline > 0, --grace ≥ 0") }
        guard SimulatorMode(rawValue: simulatorMode) != nil else { throw ValidationError("--simulator-mode is sft or prompt") }
        if engine == "sim" && model == nil { throw ValidationError("--engine sim simulates with the served model: give --model") }
    }

    func run() async throws {
        var options = ServeOptions()
        options.host = host
        options.port = port
        options.limits = .init(maxBatch: maxBatch, maxWaiting: maxWaiting, prefillChunk: prefillChunk)
        options.deadline = .milliseconds(Int64(deadline * 1000))
        options.grace = .milliseconds(Int64(grace * 1000))
        var served: ServedModel?
        if let model {
            let location = try await resolveModel(model)
            served = try ServedModel(LoadedModel(location), name: servedName ?? location.lastPathComponent, limits: options.limits)
        }
        let searchEngine: (any SearchEngine)?
        switch engine {
        case nil: searchEngine = nil
        case "sim"?:
            searchEngine = served.map { ServedModel.simulator($0, mode: SimulatorMode(rawValue: simulatorMode)!, topK: topK) }
        case let spec?:
            var config = TrainConfig.Engine()
            config.spec = spec
            config.topK = topK
            config.simulatorMode = SimulatorMode(rawValue: simulatorMode)!
            searchEngine = try await makeEngine(config)
        }
        var logger = Logger(label: "zerosearch-serve")
        logger.logLevel = .notice
        let server = Server(served: served, engine: searchEngine, options: options)
        let what = (served?.name ?? "no model") + (searchEngine.map { " and \($0.name)" } ?? "")
        try await server.run(logger: logger) { [host] port in
            // Printed unbuffered: scripts wait for this line to learn the port.
            FileHandle.standardOutput.write(Data("serving \(what) on http://\(host):\(port)\n".utf8))
        }
    }
}
