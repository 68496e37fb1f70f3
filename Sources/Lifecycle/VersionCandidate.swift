/// A version directory offered by the file-system source: where it is, what it held when last
/// looked at, and whether it can be loaded yet.
public struct VersionCandidate: Sendable, Hashable {
    public var version: Int64
    public var directory: String
    public var fingerprint: DirectoryFingerprint
    /// What the directory still waits for ("waiting for variables/variables.index"); nil when it can be loaded.
    public var waitingFor: String?
}

/// When a version directory counts as complete.
public struct CandidateRules: Sendable, Hashable {
    /// How long nothing under a version directory may change before it is loaded; zero loads at once.
    public var settle: Duration
    /// A file that must exist in the version directory before it is loaded (nil: none needed).
    public var readyMarker: String?

    public init(settle: Duration = .zero, readyMarker: String? = nil) {
        self.settle = settle
        self.readyMarker = readyMarker
    }
}
