import Batching
import Dispatch
import Foundation
import Logging
import Synchronization
import Tensors

/// Decides which versions of every configured model are loaded: it takes each model's aspired
/// versions from the file-system source, loads the complete ones on load threads, retries a failed
/// version when its files change (and on TF Serving's retry timer), keeps loaded versions within
/// the memory budget, and unloads versions no longer aspired once a replacement serves.
///
/// A version that fails to load never takes down the versions already serving: the old version keeps
/// serving until an aspired version becomes available. Requests read the routing table through
/// `servable(model:version:)`.
public final class ModelManager: Sendable {
    struct VersionRecord {
        var status: VersionStatus
        var directory: String
        var servable: ServableVersion?
        /// The files the serving instance was built from.
        var loadedFrom: DirectoryFingerprint?
        /// The files the last failed attempt read, and how many attempts failed on them.
        var attempted: DirectoryFingerprint?
        var failures = 0
        var retryAtNanos: UInt64 = 0
        var isLoading = false
        /// Bytes the serving instance holds, and bytes reserved for a load under way.
        var footprint: Int64 = 0
        var reserved: Int64 = 0
        /// When the serving instance became available (Unix milliseconds) and how long its load took.
        var loadedAtUnixMillis: Int64?
        var loadMilliseconds: Int?
    }

    struct ModelRecord {
        var configuration: ModelConfiguration
        var versions: [Int64: VersionRecord] = [:]
        var basePathMissing = false
    }

    struct State {
        var models: [String: ModelRecord] = [:]
        var stopping = false
        /// The model list changed since the last pass took its copy of it.
        var repoll = false
        var loadsInFlight = 0
        /// Unloaded versions whose memory is handed back once the last request holding them ends.
        var releasing: [WeakServable] = []
    }

    /// A version's servable as long as something can still run it.
    struct WeakServable: @unchecked Sendable {
        weak var owner: ServableOwner?

        init(_ version: ServableVersion?) { owner = version?.owner }

        var isReleased: Bool { owner == nil }
    }

    /// A pthread-locked value rather than a `Mutex`: ThreadSanitizer follows its hand-over (see `LockedValue`).
    let state: LockedValue<State>
    private let source: Mutex<FileSystemSource>
    private let watcher = FileSystemWatcher()
    private let loader: any ServableLoader
    private let scheduler: BatchScheduler
    let options: LifecycleOptions
    let logger: Logger
    private let loadSlots: DispatchSemaphore
    private let loadsFinished = NSCondition()
    /// Broadcast whenever a loaded servable is released.
    private let servableReleased = NSCondition()
    private let pollerFinished = DispatchGroup()

    public init(
        configurations: [ModelConfiguration],
        loader: any ServableLoader,
        scheduler: BatchScheduler,
        options: LifecycleOptions = LifecycleOptions(),
        logger: Logger = Logger(label: "model-server.lifecycle")
    ) {
        var models: [String: ModelRecord] = [:]
        for configuration in configurations { models[configuration.name] = ModelRecord(configuration: configuration) }
        self.state = LockedValue(State(models: models))
        self.source = Mutex(FileSystemSource(loader: loader, rules: options.candidates))
        self.loader = loader
        self.scheduler = scheduler
        self.options = options
        self.logger = logger
        self.loadSlots = DispatchSemaphore(value: options.loadThreads)
    }

    /// Starts the reconcile thread; the first pass happens at once.
    public func start() {
        pollerFinished.enter()
        let thread = Thread { [self] in
            pollLoop()
            pollerFinished.leave()
        }
        thread.name = "model-manager"
        thread.start()
    }

    /// Stops reconciling. Loaded versions keep serving until the process ends.
    public func stop() {
        state.withLock { $0.stopping = true }
        watcher.wake()
        pollerFinished.wait()
    }

    /// Replaces the model list (TF Serving's declarative reload): models missing from the new list
    /// stop being routed at once (requests under way finish); new models, policies and labels take
    /// effect on the next pass, which this call triggers. Loaded versions the new list still aspires
    /// are not touched. Returns the names of the removed models.
    @discardableResult
    public func reconfigure(_ configurations: [ModelConfiguration]) -> [String] {
        let removed: [String] = state.withLock { state in
            let names = Set(configurations.map(\.name))
            let removed = state.models.keys.filter { !names.contains($0) }.sorted()
            for name in removed {
                for record in state.models[name]?.versions.values ?? [:].values where record.servable != nil {
                    state.releasing.append(WeakServable(record.servable))
                }
                state.models.removeValue(forKey: name)
            }
            state.repoll = true
            for configuration in configurations {
                if var record = state.models[configuration.name] {
                    record.configuration = configuration
                    state.models[configuration.name] = record
                } else {
                    state.models[configuration.name] = ModelRecord(configuration: configuration)
                }
            }
            return removed
        }
        for name in removed { logger.info("Model \(name) is no longer configured; unloading all its versions") }
        watcher.wake()
        return removed
    }

    /// The current model configurations, by name.
    public var configurations: [ModelConfiguration] {
        state.withLock { $0.models.values.map(\.configuration).sorted { $0.name < $1.name } }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func pollLoop() {
        var nextPoll = options.pollInterval.map { DispatchTime.now().uptimeNanoseconds + $0.nanoseconds }
        while !isStopping {
            let settleOrRetry = reconcilePass()
            let now = DispatchTime.now().uptimeNanoseconds
            if let interval = options.pollInterval, let due = nextPoll, due <= now {
                nextPoll = now + interval.nanoseconds
            }
            if isStopping { return }
            if state.withLock({ $0.repoll }) { continue }
            let wakeAt = [nextPoll, settleOrRetry].compactMap { $0 }.min()
            if watcher.wait(timeoutNanos: wakeAt.map { $0 > now ? $0 - now : 0 }) {
                // A copy raises events in bursts: gather the burst into one pass.
                usleep(5_000)
                watcher.wait(timeoutNanos: 0)
            }
        }
    }

    /// One reconcile pass, then a wait for the loads it started, twice (the second pass unloads what
    /// the first one's loads replaced). Runs on the calling thread; for callers without `start()`.
    public func pollOnce() {
        for _ in 0..<2 {
            _ = reconcilePass()
            waitForLoads()
        }
    }

    private func waitForLoads() {
        loadsFinished.lock()
        while state.withLock({ $0.loadsInFlight > 0 }) { loadsFinished.wait() }
        loadsFinished.unlock()
    }

    /// Looks at every model once; returns the monotonic time at which a settle window ends or a
    /// retry falls due, if any.
    private func reconcilePass() -> UInt64? {
        source.withLock { source in
            source.beginRound()
            let configurations = state.withLock { state in
                state.repoll = false
                return state.models.values.map(\.configuration)
            }
            var scanned: Set<String> = []
            var due: UInt64?
            for configuration in configurations.sorted(by: { $0.name < $1.name }) {
                guard !isStopping else { break }
                let scan = source.scan(configuration, scanned: &scanned)
                noteBasePath(configuration, missing: scan.isBasePathMissing)
                if case .candidates(let candidates) = scan, let retry = reconcile(configuration, candidates) { due = min(due ?? .max, retry) }
            }
            source.endRound(scanned: scanned, basePaths: Set(configurations.map(\.basePath)))
            if options.watchesFileSystem { watcher.watch(source.watchedDirectories) }
            releaseUnloadedMemory()
            return [due, source.nextSettleNanos].compactMap { $0 }.min()
        }
    }

    private func noteBasePath(_ configuration: ModelConfiguration, missing: Bool) {
        let changed = state.withLock { state -> Bool in
            guard var record = state.models[configuration.name], record.basePathMissing != missing else { return false }
            record.basePathMissing = missing
            state.models[configuration.name] = record
            return true
        }
        guard changed else { return }
        if missing {
            logger.warning("File system source: base path \(configuration.basePath) of model \(configuration.name) does not exist or is not a directory; its loaded versions keep serving and the path is watched for")
        } else {
            logger.info("File system source: base path \(configuration.basePath) of model \(configuration.name) is present")
        }
    }

    private enum Plan {
        /// Loads a candidate once the versions it replaces to fit the memory budget are released.
        case load(VersionCandidate, after: [WeakServable])
        case unload(Int64)
        case refuse(Int64, String)
    }

    /// Applies one model's aspired versions; returns when the next retry of it falls due.
    private func reconcile(_ configuration: ModelConfiguration, _ candidates: [VersionCandidate]) -> UInt64? {
        let model = configuration.name
        let now = DispatchTime.now().uptimeNanoseconds
        let aspired = Set(candidates.map(\.version))
        var retryDue: UInt64?
        let plans: [Plan] = state.withLock { state in
            guard var record = state.models[model] else { return [] }
            var plans: [Plan] = []
            for candidate in candidates {
                var replaced: [WeakServable] = []
                var entry = record.versions[candidate.version]
                    ?? VersionRecord(status: VersionStatus(version: candidate.version, state: .start), directory: candidate.directory)
                defer { record.versions[candidate.version] = entry }
                if entry.isLoading { continue }
                if let waiting = candidate.waitingFor {
                    if entry.servable == nil {
                        entry.status = VersionStatus(version: candidate.version, state: .start, detail: waiting)
                    } else if entry.loadedFrom != candidate.fingerprint {
                        entry.status.detail = "its directory changed after it was loaded; the new files are \(waiting)"
                    }
                    continue
                }
                if entry.servable != nil, entry.loadedFrom == candidate.fingerprint {
                    entry.status.detail = nil
                    continue
                }
                if entry.attempted == candidate.fingerprint {
                    guard entry.failures <= options.maxLoadRetries else { continue }
                    guard now >= entry.retryAtNanos else {
                        retryDue = min(retryDue ?? .max, entry.retryAtNanos)
                        continue
                    }
                } else {
                    entry.failures = 0
                }
                let need = candidate.fingerprint.totalFileBytes
                switch budget(for: need, model: record, version: candidate.version, aspired: aspired, in: state) {
                case .fits:
                    break
                case .fitsAfterUnloading(let versions):
                    for version in versions {
                        replaced.append(WeakServable(record.versions[version]?.servable))
                        unload(&record, version, in: &state)
                        plans.append(.unload(version))
                    }
                    if versions.contains(candidate.version), let unloaded = record.versions[candidate.version] { entry = unloaded }
                case .refused(let reason):
                    if entry.servable == nil {
                        entry.status = VersionStatus(version: candidate.version, state: .start, detail: reason)
                    } else {
                        entry.status.detail = "its directory changed after it was loaded; the new files are not loaded: \(reason)"
                    }
                    plans.append(.refuse(candidate.version, reason))
                    continue
                }
                entry.isLoading = true
                entry.reserved = need
                entry.directory = candidate.directory
                if entry.servable == nil {
                    let waiting = replaced.isEmpty ? nil
                        : "waiting for the requests still using the versions it replaces to finish before it loads"
                    entry.status = VersionStatus(version: candidate.version, state: .loading, detail: waiting)
                }
                state.loadsInFlight += 1
                plans.append(.load(candidate, after: replaced))
            }
            let anyAspiredServes = candidates.contains { record.versions[$0.version]?.servable != nil }
            for (version, entry) in record.versions where !aspired.contains(version) && !entry.isLoading {
                if entry.servable == nil {
                    record.versions.removeValue(forKey: version)
                } else if anyAspiredServes || candidates.isEmpty {
                    unload(&record, version, in: &state)
                    plans.append(.unload(version))
                }
            }
            state.models[model] = record
            return plans
        }
        for plan in plans {
            switch plan {
            case .load(let candidate, let replaced): startLoad(configuration, candidate, after: replaced)
            case .unload(let version): logger.info("Unloaded servable version {name: \(model) version: \(version)}",
                metadata: Self.metadata(model, version))
            case .refuse(let version, let reason):
                logger.warning("Not loading servable version {name: \(model) version: \(version)}: \(reason)",
                metadata: Self.metadata(model, version))
            }
        }
        return retryDue
    }

    private func unload(_ record: inout ModelRecord, _ version: Int64, in state: inout State) {
        guard var entry = record.versions[version] else { return }
        state.releasing.append(WeakServable(entry.servable))
        entry.servable = nil
        entry.loadedFrom = nil
        entry.footprint = 0
        entry.status = VersionStatus(version: version, state: .end)
        record.versions[version] = entry
    }

    /// Loads `candidate` on a thread of its own; with `replaced`, only once those servables are released and
    /// their memory handed back, so the new version never shares memory with the versions it replaces.
    private func startLoad(_ configuration: ModelConfiguration, _ candidate: VersionCandidate, after replaced: [WeakServable]) {
        let model = configuration.name, version = candidate.version
        logger.info("Loading servable version {name: \(model) version: \(version)} from \(candidate.directory)",
                metadata: Self.metadata(model, version))
        let thread = Thread { [self] in
            if !replaced.isEmpty {
                awaitRelease(of: replaced)
                loader.releaseUnusedMemory()
                state.withLock { state in
                    if state.models[model]?.versions[version]?.status.state == .loading {
                        state.models[model]?.versions[version]?.status.detail = nil
                    }
                }
            }
            loadSlots.wait()
            let started = DispatchTime.now().uptimeNanoseconds
            let result: Result<any LoadedServable, ServingError>
            do throws(ServingError) {
                result = .success(try loader.load(model: model, version: version, directory: candidate.directory))
            } catch {
                result = .failure(error)
            }
            loadSlots.signal()
            finishLoad(configuration, candidate, result, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        }
        thread.name = "model-loader"
        thread.start()
    }

    private func finishLoad(
        _ configuration: ModelConfiguration, _ candidate: VersionCandidate,
        _ result: Result<any LoadedServable, ServingError>, nanoseconds: UInt64
    ) {
        let model = configuration.name, version = candidate.version
        let routable = try? result.map { servable in
            ServableVersion(model: model, version: version, directory: candidate.directory, servable: servable,
                            scheduler: scheduler, batching: configuration.batching) { [weak self] in self?.noteRelease() }
        }.get()
        let retries = options.maxLoadRetries
        let failures: Int = state.withLock { state in
            state.loadsInFlight -= 1
            guard var entry = state.models[model]?.versions[version] else { return 0 }
            entry.isLoading = false
            entry.reserved = 0
            switch result {
            case .success(let servable):
                if let old = entry.servable { state.releasing.append(WeakServable(old)) }
                entry.servable = routable
                entry.loadedFrom = candidate.fingerprint
                entry.footprint = servable.footprintBytes ?? candidate.fingerprint.totalFileBytes
                entry.attempted = nil
                entry.failures = 0
                entry.status = VersionStatus(version: version, state: .available)
                entry.loadedAtUnixMillis = Int64((Date().timeIntervalSince1970 * 1000).rounded())
                entry.loadMilliseconds = Int(nanoseconds / 1_000_000)
            case .failure(let error):
                entry.attempted = candidate.fingerprint
                entry.failures += 1
                entry.retryAtNanos = DispatchTime.now().uptimeNanoseconds + options.loadRetryInterval.nanoseconds
                if entry.servable == nil {
                    entry.status = VersionStatus(version: version, state: .end, error: error)
                } else {
                    entry.status.detail = "its directory changed after it was loaded, and the new files failed to load: \(error.message)"
                }
            }
            state.models[model]?.versions[version] = entry
            return entry.failures
        }
        switch result {
        case .success:
            logger.info("Successfully loaded servable version {name: \(model) version: \(version)} in \(nanoseconds / 1_000_000) ms",
                metadata: Self.metadata(model, version))
        case .failure(let error):
            let next = failures <= retries
                ? "retrying in \(options.loadRetryInterval) (attempt \(failures) of \(retries + 1)) or when its files change"
                : "retrying when its files change"
            logger.error("Failed to load servable version {name: \(model) version: \(version)} from \(candidate.directory): \(error.message); \(next)",
                metadata: Self.metadata(model, version))
        }
        loadsFinished.lock()
        loadsFinished.broadcast()
        loadsFinished.unlock()
        watcher.wake()
    }

    /// Hands memory back once every unloaded version's last request has ended.
    private func releaseUnloadedMemory() {
        let release = state.withLock { state -> Bool in
            guard !state.releasing.isEmpty else { return false }
            state.releasing.removeAll(where: \.isReleased)
            return state.releasing.isEmpty
        }
        if release { loader.releaseUnusedMemory() }
    }

    /// A servable was released: loads waiting for it go on, and the next pass hands its memory back.
    private func noteRelease() {
        servableReleased.lock()
        servableReleased.broadcast()
        servableReleased.unlock()
        watcher.wake()
    }

    private func awaitRelease(of servables: [WeakServable]) {
        servableReleased.lock()
        while !servables.allSatisfy(\.isReleased) { servableReleased.wait() }
        servableReleased.unlock()
    }

    /// The structured-log fields of a line about one version.
    static func metadata(_ model: String, _ version: Int64) -> Logger.Metadata {
        ["model": "\(model)", "version": "\(version)"]
    }
}
