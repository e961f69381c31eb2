/// Input the program cannot use (a config field, a command-line value, a
/// file's contents), named by where it is (`actor.lr`, `rollout.group_size`,
/// a file's path), so that the message says what to fix. Every layer reports
/// bad settings with this one type; `TensorError` stays for the engine's own
/// shape and argument checks.
public struct InvalidInput: Error, CustomStringConvertible, Equatable, Sendable {
    /// The field, option or file at fault.
    public let place: String
    public let problem: String

    public init(place: String, problem: String) {
        self.place = place
        self.problem = problem
    }

    public var description: String { place.isEmpty ? problem : "\(place): \(problem)" }
}

/// Throws `InvalidInput` naming `place` unless `condition` holds.
@inlinable
public func requireValid(_ condition: Bool, _ place: String, _ problem: @autoclosure () -> String) throws {
    if !condition { throw InvalidInput(place: place, problem: problem()) }
}
