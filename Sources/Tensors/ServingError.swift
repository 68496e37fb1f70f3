/// Canonical status codes (gRPC numbering), shared by every layer so an error keeps its meaning
/// from where it is raised to the protocol that reports it.
public enum StatusCode: Int, Sendable, Hashable, CustomStringConvertible {
    case ok = 0
    case cancelled = 1
    case unknown = 2
    case invalidArgument = 3
    case deadlineExceeded = 4
    case notFound = 5
    case alreadyExists = 6
    case permissionDenied = 7
    case resourceExhausted = 8
    case failedPrecondition = 9
    case aborted = 10
    case outOfRange = 11
    case unimplemented = 12
    case `internal` = 13
    case unavailable = 14
    case dataLoss = 15
    case unauthenticated = 16

    /// TensorFlow's spelling (`INVALID_ARGUMENT`, ...), as used in status JSON.
    public var name: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }

    public var description: String { name }
}

/// The one error type requests and loads report: a status code and a message that names what was
/// wrong (model, version, signature, tensor) and what was expected.
public struct ServingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String

    public init(_ code: StatusCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func invalidArgument(_ message: String) -> ServingError { ServingError(.invalidArgument, message) }
    public static func notFound(_ message: String) -> ServingError { ServingError(.notFound, message) }
    public static func unimplemented(_ message: String) -> ServingError { ServingError(.unimplemented, message) }
    public static func unavailable(_ message: String) -> ServingError { ServingError(.unavailable, message) }
    public static func `internal`(_ message: String) -> ServingError { ServingError(.internal, message) }
    public static func failedPrecondition(_ message: String) -> ServingError { ServingError(.failedPrecondition, message) }
    public static func dataLoss(_ message: String) -> ServingError { ServingError(.dataLoss, message) }
    public static func resourceExhausted(_ message: String) -> ServingError { ServingError(.resourceExhausted, message) }

    public var description: String { "\(code.name): \(message)" }
}
