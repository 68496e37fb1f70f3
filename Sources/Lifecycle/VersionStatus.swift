import Tensors

/// Where a model version is in its life, numbered as TF Serving's `ModelVersionStatus.State`.
public enum VersionState: Int, Sendable, Hashable {
    case start = 10
    case loading = 20
    case available = 30
    case unloading = 40
    case end = 50
}

/// A version's state and, after a failed load, the error.
public struct VersionStatus: Sendable, Hashable {
    public var version: Int64
    public var state: VersionState
    public var error: ServingError?
    /// Why a version is where it is when that is not an error: what a `START` version waits for, what a
    /// `LOADING` version waits for before it is read, or why a serving version was not replaced by a new copy
    /// of its files.
    public var detail: String?

    public init(version: Int64, state: VersionState, error: ServingError? = nil, detail: String? = nil) {
        self.version = version
        self.state = state
        self.error = error
        self.detail = detail
    }
}

/// How a request names a version.
public enum VersionRequest: Sendable, Hashable {
    case latest
    case specific(Int64)
    case label(String)
}
