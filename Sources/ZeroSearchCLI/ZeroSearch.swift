import ArgumentParser
import DemoCLI

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
}
