import Foundation
import Support
import Synchronization

/// What fuzzing one parser found: cases run, files accepted (and used) and
/// refused with a clean error, and the cases that crashed or hung the
/// process, each reproducible with `zerosearch fuzz --target T --case N`.
public struct FuzzReport: Codable, Equatable, Sendable {
    public var target: String
    public var cases = 0
    public var accepted = 0
    public var refused = 0
    public var crashes: [Int] = []
    public var hangs: [Int] = []

    public init(target: String) { self.target = target }

    public var passed: Bool { crashes.isEmpty && hangs.isEmpty && cases > 0 }
}

/// Runs mutated files through the parsers. Cases run in a child process
/// (`child`), one parser at a time, so that a crash or a hang is caught by
/// the parent (`supervise`), recorded with its case number, and the run goes
/// on from the next case.
public enum Fuzzer {
    /// The bytes of case `number`: a seed file mutated by a generator seeded
    /// from the run's seed, the target and the case, so any case is
    /// reproduced alone.
    public static func caseBytes(_ target: FuzzTarget, number: Int, seed: UInt64, seeds: [[UInt8]]) -> [UInt8] {
        let index = UInt64(FuzzTarget.allCases.firstIndex(of: target)!)
        var mutator = Mutator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ index << 32 &+ UInt64(number))
        return mutator.mutate(seeds[number % seeds.count], text: target.isText)
    }

    /// The child's side: cases `cases` of `target`, each announced on
    /// `announce` before it runs (so the parent knows which one died) and
    /// after (`accepted N` or `refused N`). Every case writes its file in
    /// `scratch` first, so a crashing one is left there.
    public static func child(
        _ target: FuzzTarget, cases: Range<Int>, seed: UInt64, fixtures: URL, scratch: URL, sabotage: Sabotage = Sabotage(),
        announce: (String) -> Void
    ) throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let seeds = try target.seeds(fixtures: fixtures, scratch: scratch)
        let file = scratch.appendingPathComponent(target.fileName)
        for number in cases {
            try Data(caseBytes(target, number: number, seed: seed, seeds: seeds)).write(to: file)
            announce("case \(number)")
            if number == sabotage.crash { fatalError("fuzz self-test: a crash on purpose at case \(number)") }
            if number == sabotage.hang { while true { sleep(1) } }
            do {
                try target.exercise(file)
                announce("accepted \(number)")
            } catch { announce("refused \(number) \("\(error)".split(separator: "\n").first ?? "")") }
        }
    }

    /// The parent's side: runs `cases` cases of `target` through
    /// `executable fuzz --child …`, restarting after a crash or a hang (a
    /// case unfinished after `hangSeconds`) at the next case. A crashing or
    /// hanging case's file is copied to `failures`.
    public static func supervise(
        _ target: FuzzTarget, cases: Int, seed: UInt64, executable: URL, fixtures: URL, scratch: URL, failures: URL,
        hangSeconds: Double = 30, sabotage: Sabotage = Sabotage(), progress: (Int) -> Void = { _ in }
    ) throws -> FuzzReport {
        var report = FuzzReport(target: target.rawValue)
        var next = 0
        while next < cases {
            let lines = LineCollector()
            let process = Process()
            process.executableURL = executable
            process.arguments =
                [
                    "fuzz", "--child", "--target", target.rawValue, "--from", "\(next)", "--cases", "\(cases)", "--seed", "\(seed)",
                    "--fixtures", fixtures.path, "--scratch", scratch.path,
                ] + sabotage.arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            // A crashing child must exit at once: Swift's backtracer would spend
            // seconds symbolicating first, and the crash would read as a hang.
            process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { _, new in new }
            pipe.fileHandleForReading.readabilityHandler = { handle in lines.append(handle.availableData) }
            try process.run()
            var running: Int?
            var started = Date()
            var hung = false
            func read() {
                for line in lines.take() {
                    let parts = line.split(separator: " ", maxSplits: 2)
                    guard parts.count >= 2, let number = Int(parts[1]) else { continue }
                    switch parts[0] {
                    case "case":
                        running = number
                        started = Date()
                    case "accepted", "refused":
                        parts[0] == "accepted" ? (report.accepted += 1) : (report.refused += 1)
                        report.cases += 1
                        running = nil
                        next = number + 1
                        progress(report.cases)
                    default: break
                    }
                }
            }
            while process.isRunning {
                Thread.sleep(forTimeInterval: 0.05)
                read()
                if running != nil, Date().timeIntervalSince(started) > hangSeconds {
                    hung = true
                    kill(process.processIdentifier, SIGKILL)
                    break
                }
            }
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
            lines.append(pipe.fileHandleForReading.readDataToEndOfFile())
            read()
            guard let failed = running else {
                guard next >= cases || process.terminationStatus == 0 else {
                    throw InvalidInput(
                        place: "fuzz \(target.rawValue)",
                        problem: "the child process stopped between cases (status \(process.terminationStatus))")
                }
                continue
            }
            if hung { report.hangs.append(failed) } else { report.crashes.append(failed) }
            report.cases += 1
            try? FileManager.default.createDirectory(at: failures, withIntermediateDirectories: true)
            let kept = failures.appendingPathComponent("\(target.rawValue)-case\(failed)-" + target.fileName)
            try? FileManager.default.removeItem(at: kept)
            try? FileManager.default.copyItem(at: scratch.appendingPathComponent(target.fileName), to: kept)
            next = failed + 1
        }
        return report
    }
}

/// Cases at which a child crashes or hangs on purpose: the harness's own
/// test (`zerosearch fuzz --self-test`), since a fuzzer that could not see a
/// crash would report none.
public struct Sabotage: Sendable {
    public var crash: Int?
    public var hang: Int?

    public init(crash: Int? = nil, hang: Int? = nil) {
        self.crash = crash
        self.hang = hang
    }

    var arguments: [String] {
        (crash.map { ["--crash-at", "\($0)"] } ?? []) + (hang.map { ["--hang-at", "\($0)"] } ?? [])
    }
}

/// Lines of a child's output, collected from the pipe's handler thread.
private final class LineCollector: Sendable {
    private let buffer = Mutex(Data())

    func append(_ data: Data) { buffer.withLock { $0.append(data) } }

    /// The complete lines received since the last call.
    func take() -> [String] {
        buffer.withLock { buffer in
            guard let end = buffer.lastIndex(of: 10) else { return [] }
            let text = String(decoding: buffer[..<end], as: UTF8.self)
            buffer.removeSubrange(..<(end + 1))
            return text.split(separator: "\n").map(String.init)
        }
    }
}
