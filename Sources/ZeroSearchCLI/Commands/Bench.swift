import ArgumentParser
import Benchmarks
import Console
import Engine
import Foundation
import Models
import Support

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, each side by side with a reference run on the same machine.",
        subcommands: [EngineBench.self, GenerationBench.self, TokenizerBench.self, BM25Bench.self, RLBench.self]
    )
}

/// GEMM against numpy's matmul and decoder training against PyTorch, both
/// measured in this run. The references run as subprocesses
/// (scripts/reference/*.py), one at a time, never alongside ours.
struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine", abstract: "GEMM GFLOP/s against numpy, decoder training tokens/s against PyTorch CPU.")

    @Flag(help: "One JSON object per line: name, ours, reference, ratio (and unit, detail).") var json = false
    @Option(help: "GEMM shapes MxKxN, each A[M,K]·W[N,K]ᵀ.") var shapes = "1024x1024x1024,512x896x4864,8x896x896,1x576x1536"
    @Option(help: "Decoder layers for the training benchmark (SmolLM2-135M has 30).") var layers = 30
    @Option(help: "Timed training steps (after one warm-up step).") var steps = 3
    @Option(help: "Threads for both sides.") var threads = Parallel.threadCount
    @Option(help: "Python interpreter for the references.") var python = "python3"
    @Flag(help: "Skip the reference runs (ours only).") var noReference = false

    func run() async throws {
        let shapeList = try shapes.split(separator: ",").map { spec -> (Int, Int, Int) in
            let d = spec.split(separator: "x").compactMap { Int($0) }
            guard d.count == 3, d.allSatisfy({ $0 > 0 }) else { throw ValidationError("bad shape '\(spec)': expected MxKxN") }
            return (d[0], d[1], d[2])
        }
        var rows: [BenchRow] = []
        let numpy = noReference ? [:] : try referenceGEMM(shapeList)
        for (m, k, n) in shapeList {
            let (perCall, prepacked) = measureGEMM(m: m, k: k, n: n)
            let reference = numpy["gemm \(m)x\(k)x\(n)"]
            rows.append(BenchRow(name: "gemm \(m)x\(k)x\(n) (packed weights)", ours: prepacked, reference: reference, unit: "GFLOP/s"))
            rows.append(BenchRow(name: "gemm \(m)x\(k)x\(n) (packing per call)", ours: perCall, reference: reference, unit: "GFLOP/s"))
            if !json { print(rows[rows.count - 2].text + "\n" + rows[rows.count - 1].text) }
        }

        var config = DecoderConfig.smolLM2_135M
        config.layers = layers
        let training = TrainingThroughput(config: config, batch: 4, sequence: 256)
        let progress = ProgressBar(title: "training (ours)", total: steps + 1, enabled: !json)
        let ours = try training.run(steps: steps) { _, _ in progress.advance() }
        progress.finish()
        let torch = noReference ? nil : try referenceTraining(layers: layers)
        let detail = "SmolLM2-135M shape, \(layers) layers, batch 4 x 256, forward+backward+AdamW, median of \(steps)"
        rows.append(
            BenchRow(
                name: "train decoder tokens/s", ours: ours.medianTokensPerSecond, reference: torch?.median,
                unit: "tokens/s", detail: detail))
        rows.append(
            BenchRow(name: "train decoder tokens/s (best)", ours: ours.bestTokensPerSecond, reference: torch?.best, unit: "tokens/s"))
        rows.append(BenchRow(name: "train decoder peak RSS", ours: peakResidentMiB(), reference: torch?.peakMiB, unit: "MiB"))
        for row in rows.suffix(3) {
            if json { print(row.jsonLine) } else { print(row.text) }
        }
        if json { for row in rows.dropLast(3) { print(row.jsonLine) } }
    }

    /// Best of per-call packing and pre-packed weights, in GFLOP/s.
    func measureGEMM(m: Int, k: Int, n: Int) -> (Double, Double) {
        var rng = RandomGenerator(seed: 1)
        let a = rng.normalTensor([m, k])
        let w = rng.normalTensor([n, k])
        let c = Tensor(zeros: [m, n])
        let packed = PackedMatrix(weight: w.pointer, n: n, k: k)
        let flops = 2.0 * Double(m * n * k)
        let perCall = bestSeconds {
            sgemm(transA: false, transB: true, m: m, n: n, k: k, a: a.pointer, lda: k, b: w.pointer, ldb: k, c: c.pointer, ldc: n)
        }
        let pre = bestSeconds { sgemm(m: m, a: a.pointer, lda: k, packed: packed, c: c.pointer, ldc: n) }
        return (flops / perCall / 1e9, flops / pre / 1e9)
    }

    func referenceGEMM(_ shapes: [(Int, Int, Int)]) throws -> [String: Double] {
        let spec = shapes.map { "\($0.0)x\($0.1)x\($0.2)" }.joined(separator: ",")
        let lines = try ReferenceScript.run([python, "scripts/reference/gemm_numpy.py", "--shapes", spec, "--threads", "\(threads)"])
        var result: [String: Double] = [:]
        for line in lines {
            if let name = line["name"] as? String, let best = line["gflops_best"] as? Double { result[name] = best }
        }
        return result
    }

    func referenceTraining(layers: Int) throws -> (median: Double, best: Double, peakMiB: Double)? {
        if !json { print("training (PyTorch CPU reference)…") }
        let lines = try ReferenceScript.run([
            python, "scripts/reference/train_torch.py", "--layers", "\(layers)", "--steps", "\(steps)",
            "--threads", "\(threads)",
        ])
        guard let line = lines.first, let median = line["tokens_per_s_median"] as? Double,
            let best = line["tokens_per_s_best"] as? Double, let peak = line["peak_rss_mib"] as? Double
        else { return nil }
        return (median, best, peak)
    }
}

struct BenchRow {
    let name: String
    let ours: Double
    let reference: Double?
    let unit: String
    var detail: String = ""

    var ratio: Double? { reference.map { ours / $0 } }

    /// The same measurement of ours next to a reference value (a JSON number).
    func against(_ value: Any?, as referenceName: String) -> BenchRow {
        BenchRow(name: "\(name) vs \(referenceName)", ours: ours, reference: value as? Double, unit: unit, detail: detail)
    }

    var text: String {
        let ref = reference.map { String(format: "%10.1f", $0) } ?? "         –"
        let r = ratio.map { String(format: "%6.2fx", $0) } ?? "      –"
        return
            "\(name.padding(toLength: 44, withPad: " ", startingAt: 0)) ours \(String(format: "%10.1f", ours))  reference \(ref)  \(r)  \(unit)"
    }

    var jsonLine: String {
        var object: [String: Any] = ["name": name, "ours": ours, "unit": unit]
        object["reference"] = reference ?? NSNull()
        object["ratio"] = ratio ?? NSNull()
        if !detail.isEmpty { object["detail"] = detail }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs a reference script (Python or shell) as a subprocess and parses the
/// JSON objects it prints, one per line. A missing package is reported with
/// the set-up command that installs it.
enum ReferenceScript {
    static func run(_ arguments: [String], threads: Int = Parallel.threadCount) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "\(threads)"
        process.environment = environment
        // stderr goes to a file: a chatty reference (progress bars, warnings)
        // must not fill a pipe nobody drains while stdout is being read.
        let errorLog = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-reference-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorLog) }
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errorLog)
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let script = arguments.first { $0.hasPrefix("scripts/") } ?? arguments[0]
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errorLog, encoding: .utf8)) ?? ""
            let hint = message.contains("No module named") ? "\nInstall the references with: scripts/setup-reference.sh" : ""
            throw ValidationError("reference \(script) failed (exit \(process.terminationStatus)):\n\(message.suffix(2000))\(hint)")
        }
        return String(decoding: output, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}
