/// Every shape or argument problem the engine detects is reported as one of
/// these, naming the operation and the shapes involved, before any kernel runs.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(op: String, detail: String)
    case invalidArgument(op: String, detail: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, detail): return "\(op): shape mismatch: \(detail)"
        case let .invalidArgument(op, detail): return "\(op): invalid argument: \(detail)"
        }
    }
}

/// Formats a shape the way error messages print it: `[4, 256, 576]`.
@inlinable
public func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

@inlinable
public func check(_ condition: Bool, _ op: String, _ detail: @autoclosure () -> String) throws {
    if !condition { throw TensorError.shapeMismatch(op: op, detail: detail()) }
}

@inlinable
public func require(_ condition: Bool, _ op: String, _ detail: @autoclosure () -> String) throws {
    if !condition { throw TensorError.invalidArgument(op: op, detail: detail()) }
}
