import Foundation

/// A one-line progress bar on stderr (so `--json` stdout stays clean). When
/// stderr is not a terminal (a log file, CI) it writes a plain line at every
/// tenth of the work instead of a redraw per update.
public final class ProgressBar {
    public let title: String
    public let total: Int
    public let enabled: Bool
    private var done = 0
    private var detail = ""
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) == 1
    /// Tenths of the work already logged (when not a terminal).
    private var loggedTenths = -1

    public init(title: String, total: Int, enabled: Bool = true) {
        self.title = title
        self.total = max(total, 1)
        self.enabled = enabled
        draw()
    }

    public func advance(by n: Int = 1) {
        done = min(total, done + n)
        draw()
    }

    /// Moves to `done` of the total, with a short status after the count.
    public func update(_ done: Int, detail: String) {
        self.done = min(total, max(0, done))
        self.detail = detail
        draw()
    }

    public func finish() {
        if enabled && isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
        if enabled && !isTerminal && loggedTenths < 10 {
            loggedTenths = 9
            done = total
            draw()
        }
    }

    private func draw() {
        guard enabled else { return }
        let width = 30
        let filled = width * done / total
        let elapsed = Date().timeIntervalSince(start)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let status = detail.isEmpty ? "" : " " + detail
        guard isTerminal else {
            let tenths = 10 * done / total
            guard tenths > loggedTenths else { return }
            loggedTenths = tenths
            let line = "\(title) \(done)/\(total) \(String(format: "%.0f", elapsed))s\(status)\n"
            FileHandle.standardError.write(Data(line.utf8))
            return
        }
        let line = "\r\(title) \(bar) \(done)/\(total) \(String(format: "%.0f", elapsed))s\(status)\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
