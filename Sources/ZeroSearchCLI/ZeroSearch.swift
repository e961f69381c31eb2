import ArgumentParser
import Engine

@main
struct ZeroSearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zerosearch",
        abstract: "Teach a language model to search, with an LLM-simulated search engine, on a CPU.",
        subcommands: [
            DemoCommand.self, ModelsCommand.self, Generate.self, Tokenize.self, IndexCommand.self, WorldCommand.self, Search.self, Ask.self,
            Score.self,
            Train.self, Eval.self, ReportCommand.self, DataCommand.self, SimulatorCommand.self, ColdStartCommand.self, RealCommand.self,
            Fuzz.self, Serve.self,
            Bench.self,
        ]
    )

    static func main() async {
        keepFreedMemoryInProcess()
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
