import ArgumentParser
import Engine
import Models
import Foundation

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, each side by side with a reference run on the same machine.",
        subcommands: [EngineBench.self, TrainBench.self]
    )
}

struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine", abstract: "GEMM and decoder-training throughput against numpy and PyTorch.")

    @Flag(help: "One JSON object per line: name, ours, reference, ratio.") var json = false
    @Option(help: "GEMM shapes MxKxN (A[M,K] · W[N,K]ᵀ).") var shapes = "1024x1024x1024,512x896x4864,8x896x896,1x576x1536"

    func run() async throws {
        for spec in shapes.split(separator: ",") {
            let d = spec.split(separator: "x").compactMap { Int($0) }
            let (m, k, n) = (d[0], d[1], d[2])
            let a = Tensor(repeating: 0.5, shape: [m, k]), w = Tensor(repeating: 0.25, shape: [n, k]), c = Tensor(zeros: [m, n])
            let packed = PackedMatrix(weight: w.pointer, n: n, k: k)
            let flops = 2.0 * Double(m * n * k)
            let onTheFly = bestTime { sgemm(transA: false, transB: true, m: m, n: n, k: k, a: a.pointer, lda: k, b: w.pointer, ldb: k, c: c.pointer, ldc: n) }
            let pre = bestTime { sgemm(m: m, a: a.pointer, lda: k, packed: packed, c: c.pointer, ldc: n) }
            print("gemm \(spec): per-call pack \(String(format: "%.1f", flops / onTheFly / 1e9)) GFLOP/s, prepacked \(String(format: "%.1f", flops / pre / 1e9)) GFLOP/s")
        }
    }
}

func bestTime(minSeconds: Double = 0.5, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    let start = DispatchTime.now().uptimeNanoseconds
    repeat {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    } while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < minSeconds
    return best
}

struct TrainBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train")
    @Option var layers = 30
    @Option var steps = 3
    func run() async throws {
        var config = DecoderConfig.smolLM2_135M
        config.layers = layers
        let r = try TrainingThroughput(config: config, batch: 4, sequence: 256).run(steps: steps) { s, t in print("step \(s): \(t) s") }
        print("tokens/s best \(r.bestTokensPerSecond) median \(r.medianTokensPerSecond) losses \(r.losses) peak \(peakResidentMiB()) MiB")
    }
}
