import ArgumentParser
import Console
import Foundation
import Fuzzing

/// Mutated real files through every parser of untrusted bytes, each case a
/// clean error or a correct result; crashes and hangs are counted (each
/// case reproducible alone with `--target T --case N`).
struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fuzz the file parsers with seeded mutations of real files; exits 1 on any crash or hang.")

    @Option(help: "Cases per parser.") var cases = 300
    @Option(help: "Run seed (cases are reproducible from it).") var seed: UInt64 = 0
    @Option(
        help: "Parsers, comma-separated (\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))); default: all.",
        transform: {
            try $0.split(separator: ",").map { try FuzzTarget(rawValue: String($0)).orThrow(ValidationError("unknown parser \($0)")) }
        })
    var target: [FuzzTarget] = FuzzTarget.allCases
    @Option(help: "Rerun one case alone, in this process.") var `case`: Int?
    @Option(help: "A case running longer than this many seconds is a hang.") var hangSeconds = 30.0
    @Option(help: "The repository's Tests folder (the seed files).") var fixtures = "Tests"
    @Option(help: "Where crashing or hanging inputs are kept.") var out = "runs/fuzz"
    @Option(help: "Scratch folder for the cases' files.") var scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
        "zerosearch-fuzz"
    ).path
    @Flag(help: "Check the harness itself: a case that crashes and one that hangs on purpose must be reported.")
    var selfTest = false
    @Option(help: .hidden) var from = 0
    @Flag(help: .hidden) var child = false
    @Option(help: .hidden) var crashAt: Int?
    @Option(help: .hidden) var hangAt: Int?

    func run() throws {
        let fixtures = URL(fileURLWithPath: fixtures)
        if child || `case` != nil {
            let range = `case`.map { $0..<($0 + 1) } ?? from..<cases
            for parser in target {
                // A child works in the folder its parent watches.
                let scratch =
                    child ? URL(fileURLWithPath: scratch) : URL(fileURLWithPath: scratch).appendingPathComponent(parser.rawValue + "-case")
                try Fuzzer.child(
                    parser, cases: range, seed: seed, fixtures: fixtures, scratch: scratch, sabotage: Sabotage(crash: crashAt, hang: hangAt)
                ) { line in
                    // Unbuffered: the parent must see a case's number before it runs.
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
            }
            return
        }
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        if selfTest {
            let report = try Fuzzer.supervise(
                .checkpoint, cases: 6, seed: seed, executable: executable, fixtures: fixtures,
                scratch: URL(fileURLWithPath: scratch).appendingPathComponent("self-test"),
                failures: URL(fileURLWithPath: scratch).appendingPathComponent("self-test-failures"),
                hangSeconds: 2, sabotage: Sabotage(crash: 2, hang: 4))
            let kept = URL(fileURLWithPath: scratch).appendingPathComponent("self-test-failures/checkpoint-case2-trainer_state.json")
            guard report.crashes == [2], report.hangs == [4], report.cases == 6, report.accepted + report.refused == 4,
                FileManager.default.fileExists(atPath: kept.path)
            else {
                throw ValidationError("the harness missed a planted crash or hang: \(report)")
            }
            print("self-test: the planted crash (case 2) and hang (case 4) were caught; the other 4 cases ran")
            return
        }
        var failed = false
        for parser in target {
            let bar = ProgressBar(title: "fuzz \(parser.rawValue)", total: cases)
            let report = try Fuzzer.supervise(
                parser, cases: cases, seed: seed, executable: executable, fixtures: fixtures,
                scratch: URL(fileURLWithPath: scratch).appendingPathComponent(parser.rawValue),
                failures: URL(fileURLWithPath: out), hangSeconds: hangSeconds
            ) { bar.update($0, detail: "") }
            bar.finish()
            print(
                "\(parser.rawValue): \(report.cases) cases, \(report.accepted) accepted, \(report.refused) refused cleanly, "
                    + "\(report.crashes.count) crashes \(report.crashes), \(report.hangs.count) hangs \(report.hangs)")
            failed = failed || !report.passed
        }
        if failed { throw ExitCode(1) }
    }
}

extension Optional {
    fileprivate func orThrow(_ error: some Error) throws -> Wrapped {
        guard let self else { throw error }
        return self
    }
}
