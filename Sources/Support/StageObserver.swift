/// Where a long job (the demo, `zerosearch real`) reports progress: stages with a known number of steps,
/// and one-line notes. The command line draws progress bars from it.
public protocol StageObserver {
    func begin(_ stage: String, total: Int)
    /// `done` of the stage's total so far.
    func progress(_ done: Int, detail: String)
    func end()
    func note(_ line: String)
}

/// Reports nothing (tests).
public struct SilentObserver: StageObserver {
    public init() {}
    public func begin(_ stage: String, total: Int) {}
    public func progress(_ done: Int, detail: String) {}
    public func end() {}
    public func note(_ line: String) {}
}
