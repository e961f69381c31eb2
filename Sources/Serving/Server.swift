import Foundation
import Generation
import Hummingbird
import Logging
import Search
import ServiceLifecycle
import Support

/// What `zerosearch serve` runs with.
public struct ServeOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0: any free port (`onRunning` tells which).
    public var port = 8000
    public var limits = BatchScheduler.Limits()
    /// A request still unanswered after this long is cancelled (504).
    public var deadline: Duration = .seconds(300)
    /// After SIGTERM, requests in flight get this long to finish; then they are cancelled.
    public var grace: Duration = .seconds(10)
    /// Larger request bodies are refused (413).
    public var maxBodyBytes = 8 << 20

    public init() {}
}

/// The HTTP face of a served model and a search engine: OpenAI-compatible
/// completions, Search-R1's `/retrieve`, `/health` and Prometheus `/metrics`
/// (docs/serving.md).
public struct Server: Sendable {
    public let served: ServedModel?
    public let engine: (any SearchEngine)?
    public let options: ServeOptions
    let metrics = ServerMetrics()

    public init(served: ServedModel?, engine: (any SearchEngine)?, options: ServeOptions) {
        self.served = served
        self.engine = engine
        self.options = options
    }

    /// Serves until SIGTERM or SIGINT, then drains (`options.grace`) and returns.
    public func run(logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "zerosearch"),
            onServerRunning: { await onRunning($0.localAddress?.port ?? 0) },
            logger: logger)
        // Services shut down last to first: the drain runs while the server
        // still answers (new work gets 503), then the server closes.
        let group = ServiceGroup(
            services: [app, Drain(scheduler: served?.scheduler, grace: options.grace)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ in health() }
        router.get("/v1/models") { _, _ in try models() }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.exposition(load: served?.scheduler.load))))
        }
        router.post("/v1/chat/completions") { request, _ in
            await answer("chat", request) { body, request in try await complete(.chat(body), chat: true, request: request) }
        }
        router.post("/v1/completions") { request, _ in
            await answer("completions", request) { body, request in
                try await complete(.completion(body), chat: false, request: request)
            }
        }
        router.post("/retrieve") { request, _ in
            await answer("retrieve", request) { body, _ in try await retrieve(body) }
        }
        return router
    }

    /// Reads the body as JSON, runs `handle`, and turns refusals into
    /// OpenAI-style errors; counts and times every request.
    func answer(
        _ endpoint: String, _ request: Request, _ handle: (JSONValue, Request) async throws -> Response
    ) async -> Response {
        let started = ContinuousClock.now
        var request = request
        let response: Response
        do {
            let bytes: ByteBuffer
            do {
                bytes = try await request.collectBody(upTo: options.maxBodyBytes)
            } catch {
                throw APIError(status: 413, "the request body is larger than \(options.maxBodyBytes) bytes")
            }
            let body: JSONValue
            do {
                body = try JSONValue.parse(Data(bytes.readableBytesView))
            } catch {
                throw APIError("the body is not valid JSON: \(error.located)")
            }
            response = try await handle(body, request)
        } catch let error as APIError {
            response = Self.error(error)
        } catch SchedulerRefusal.queueFull {
            var refusal = Self.error(APIError(status: 429, "the server is at capacity; retry shortly"))
            refusal.headers[.retryAfter] = "1"
            response = refusal
        } catch SchedulerRefusal.stopping {
            response = Self.error(APIError(status: 503, "the server is shutting down"))
        } catch {
            response = Self.error(APIError(status: 500, "\(error)"))
        }
        metrics.record(endpoint: endpoint, status: response.status.code, duration: ContinuousClock.now - started)
        return response
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }

    static func error(_ error: APIError) -> Response {
        json(error.body, status: HTTPResponse.Status(code: error.status))
    }

    func health() -> Response {
        let load = served?.scheduler.load
        let stopping = served?.scheduler.isStopping ?? false
        return Self.json(
            .object([
                .init("status", .string(stopping ? "stopping" : "ok")),
                .init("model", served.map { .string($0.name) } ?? .null),
                .init("engine", engine.map { .string($0.name) } ?? .null),
                .init("running", .int(Int64(load?.running ?? 0))), .init("waiting", .int(Int64(load?.waiting ?? 0))),
            ]), status: stopping ? .serviceUnavailable : .ok)
    }

    func models() throws -> Response {
        let data: [JSONValue] =
            served.map { served in
                [
                    .object([
                        .init("id", .string(served.name)), .init("object", "model"), .init("created", .int(Int64(served.created))),
                        .init("owned_by", "zerosearch"), .init("max_model_len", .int(Int64(served.contextLength))),
                    ])
                ]
            } ?? []
        return Self.json(.object([.init("object", "list"), .init("data", .list(data))]))
    }
}

/// The shutdown's drain: on SIGTERM, refuse new generations, give those in
/// flight `grace` to finish, then cancel the rest.
struct Drain: Service {
    let scheduler: BatchScheduler?
    let grace: Duration

    func run() async throws {
        try? await gracefulShutdown()
        guard let scheduler else { return }
        scheduler.stopAccepting()
        let end = ContinuousClock.now + grace
        while ContinuousClock.now < end, scheduler.load.running + scheduler.load.waiting > 0 {
            try? await Task.sleep(for: .milliseconds(50))
        }
        scheduler.cancelAll()
    }
}
