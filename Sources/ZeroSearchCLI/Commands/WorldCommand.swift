import ArgumentParser
import Foundation
import World

struct WorldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "world",
        abstract: "Write a synthetic world: an encyclopedia corpus and single- and two-hop questions about invented entities.")

    @Option(help: "Output folder: corpus.jsonl, train.jsonl, test.jsonl.") var out: String
    @Option(help: "Entities in the world.") var entities = 3000
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Share of questions held out for testing.") var testFraction = 0.2

    func run() async throws {
        let world = try World(WorldConfig(entities: entities, seed: seed, testFraction: testFraction))
        let folder = URL(fileURLWithPath: out)
        try world.write(to: folder)
        let twoHop = { (questions: [WorldQuestion]) in questions.filter { $0.kind == .twoHop }.count }
        print(
            """
            \(world.passages.count) passages → \(folder.appendingPathComponent("corpus.jsonl").path)
            \(world.train.count) training questions (\(twoHop(world.train)) two-hop) → train.jsonl
            \(world.test.count) test questions (\(twoHop(world.test)) two-hop) → test.jsonl
            """)
    }
}
