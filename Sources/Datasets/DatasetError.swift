/// Why a dataset file could not be read or mapped to questions. Messages name the
/// file and line (or row) so a bad line in a million-row file can be found.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// The file cannot be opened, or its extension names no format this module reads.
    case unreadable(String)
    /// A JSONL/JSON/CSV syntax error; the message names file:line.
    case malformed(String)
    /// The parquet reader's own error, kept whole.
    case parquet(ParquetError)
    /// A row lacks what the column mapping asks for.
    case mapping(String)

    public var description: String {
        switch self {
        case .unreadable(let detail): "dataset: cannot read: \(detail)"
        case .malformed(let detail): "dataset: malformed: \(detail)"
        case .parquet(let error): error.description
        case .mapping(let detail): "dataset: \(detail)"
        }
    }
}
