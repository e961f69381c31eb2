import Dispatch

/// Wall time of one run of `body`, in seconds.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The smallest of `repeats` measurements after one warm-up; `measure`
/// returns the seconds it timed, so set-up can stay outside the timed part.
func bestOf(repeats: Int, _ measure: () throws -> Double) rethrows -> Double {
    _ = try measure()
    var best = Double.infinity
    for _ in 0..<max(repeats, 1) { best = min(best, try measure()) }
    return best
}

/// Best wall time of `body` over repeated runs lasting at least `minSeconds`.
func bestSeconds(minSeconds: Double = 0.5, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    var total = 0.0
    repeat {
        let elapsed = seconds(body)
        best = min(best, elapsed)
        total += elapsed
    } while total < minSeconds
    return best
}
