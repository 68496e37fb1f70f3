/// How the manager finds, loads and retries versions, and how much memory they may take.
public struct LifecycleOptions: Sendable {
    /// What happens when loading a version beside the ones serving would exceed the memory budget.
    public enum OverBudget: String, Sendable, Hashable, CaseIterable {
        /// Keep serving what serves and do not load the new version (logged, and shown in its status).
        case refuse
        /// Unload the versions the new one replaces first, then load it, when that makes it fit.
        case unloadFirst = "unload_first"
    }

    /// Time between file-system polls; nil polls at start, after `reconfigure`, and on file-system events.
    public var pollInterval: Duration?
    /// Whether changes under base paths and version directories wake the manager at once (inotify).
    public var watchesFileSystem: Bool
    /// When a version directory counts as complete.
    public var candidates: CandidateRules
    /// Extra attempts after a failed load (TF Serving's `--max_num_load_retries`); a version whose files
    /// change is tried again whatever the count.
    public var maxLoadRetries: Int
    /// Wait between attempts (TF Serving's `--load_retry_interval_micros`).
    public var loadRetryInterval: Duration
    /// Versions loading at the same time.
    public var loadThreads: Int
    /// Bytes all loaded versions together may take; 0 is no limit.
    public var memoryBudgetBytes: Int64
    public var overBudget: OverBudget

    public init(
        pollInterval: Duration? = nil,
        watchesFileSystem: Bool = true,
        candidates: CandidateRules = CandidateRules(),
        maxLoadRetries: Int = 5,
        loadRetryInterval: Duration = .seconds(60),
        loadThreads: Int = 2,
        memoryBudgetBytes: Int64 = 0,
        overBudget: OverBudget = .refuse
    ) {
        self.pollInterval = pollInterval
        self.watchesFileSystem = watchesFileSystem
        self.candidates = candidates
        self.maxLoadRetries = max(0, maxLoadRetries)
        self.loadRetryInterval = loadRetryInterval
        self.loadThreads = max(1, loadThreads)
        self.memoryBudgetBytes = max(0, memoryBudgetBytes)
        self.overBudget = overBudget
    }
}

extension Duration {
    /// The duration in whole nanoseconds, never negative.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
