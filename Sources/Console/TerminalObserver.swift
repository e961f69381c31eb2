import Foundation
import Support

/// Progress bars on stderr, one per stage, and notes between them.
public final class TerminalObserver: StageObserver {
    private var bar: ProgressBar?

    public init() {}

    public func begin(_ stage: String, total: Int) { bar = ProgressBar(title: stage, total: total) }
    public func progress(_ done: Int, detail: String) { bar?.update(done, detail: detail) }
    public func end() {
        bar?.finish()
        bar = nil
    }
    public func note(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
