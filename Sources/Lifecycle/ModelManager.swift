import Batching
import Dispatch
import Foundation
import Logging
import Synchronization
import Tensors

/// Keeps every configured model's aspired versions loaded: polls base paths, loads new versions,
/// unloads versions that are no longer aspired once a replacement is available, and answers
/// lookups from requests with the current routing table.
///
/// A version that fails to load never takes down the versions already serving: the old version keeps
/// serving until an aspired version becomes available.
public final class ModelManager: Sendable {
    struct VersionRecord {
        var status: VersionStatus
        var directory: String
        var servable: ServableVersion?
    }

    struct ModelRecord {
        var configuration: ModelConfiguration
        var versions: [Int64: VersionRecord] = [:]
    }

    struct State {
        var models: [String: ModelRecord] = [:]
        var stopping = false
        /// The model list changed since the last poll took its copy of it.
        var repoll = false
    }

    private let state: Mutex<State>
    private let loader: any ServableLoader
    private let scheduler: BatchScheduler
    private let pollInterval: Duration?
    private let logger: Logger
    private let wakeUp = NSCondition()
    private let pollerFinished = DispatchGroup()
    private let maxLoadRetries: Int
    private let loadRetryInterval: Duration

    /// - Parameters:
    ///   - pollInterval: time between file-system polls; nil polls at start and after each `reconfigure`.
    ///   - maxLoadRetries: extra attempts after a failed load (TF Serving's `--max_num_load_retries`).
    public init(
        configurations: [ModelConfiguration],
        loader: any ServableLoader,
        scheduler: BatchScheduler,
        pollInterval: Duration?,
        maxLoadRetries: Int = 5,
        loadRetryInterval: Duration = .seconds(60),
        logger: Logger = Logger(label: "model-server.lifecycle")
    ) {
        var models: [String: ModelRecord] = [:]
        for configuration in configurations { models[configuration.name] = ModelRecord(configuration: configuration) }
        self.state = Mutex(State(models: models))
        self.loader = loader
        self.scheduler = scheduler
        self.pollInterval = pollInterval
        self.maxLoadRetries = max(0, maxLoadRetries)
        self.loadRetryInterval = loadRetryInterval
        self.logger = logger
    }

    /// Starts the polling thread; the first poll happens at once.
    public func start() {
        pollerFinished.enter()
        let thread = Thread { [self] in
            pollLoop()
            pollerFinished.leave()
        }
        thread.name = "model-poller"
        thread.start()
    }

    /// Stops polling. Loaded versions keep serving until the process ends.
    public func stop() {
        state.withLock { $0.stopping = true }
        wakeUp.lock()
        wakeUp.broadcast()
        wakeUp.unlock()
        pollerFinished.wait()
    }

    /// Replaces the model list (TF Serving's declarative reload): models missing from the new list
    /// stop being routed at once (requests under way finish), new models load on the next poll,
    /// which this call triggers. Returns the names of the removed models.
    @discardableResult
    public func reconfigure(_ configurations: [ModelConfiguration]) -> [String] {
        let removed: [String] = state.withLock { state in
            let names = Set(configurations.map(\.name))
            let removed = state.models.keys.filter { !names.contains($0) }.sorted()
            for name in removed { state.models.removeValue(forKey: name) }
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
        wakeUp.lock()
        wakeUp.broadcast()
        wakeUp.unlock()
        return removed
    }

    /// The current model configurations, by name.
    public var configurations: [ModelConfiguration] {
        state.withLock { $0.models.values.map(\.configuration).sorted { $0.name < $1.name } }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func pollLoop() {
        repeat {
            pollOnce()
            wakeUp.lock()
            if !isStopping, !state.withLock({ $0.repoll }) {
                if let pollInterval {
                    _ = wakeUp.wait(until: Self.deadline(after: pollInterval))
                } else {
                    wakeUp.wait()
                }
            }
            wakeUp.unlock()
        } while !isStopping
    }

    /// One reconcile pass over every model: scan, load what is aspired and missing, unload what is
    /// no longer aspired. Runs on the calling thread.
    public func pollOnce() {
        let configurations = state.withLock { state in
            state.repoll = false
            return state.models.values.map(\.configuration)
        }
        for configuration in configurations.sorted(by: { $0.name < $1.name }) {
            guard !isStopping else { return }
            reconcile(configuration)
        }
    }

    private func reconcile(_ configuration: ModelConfiguration) {
        let present: [Int64: String]
        do {
            present = try VersionDirectoryScanner.versions(in: configuration.basePath)
        } catch {
            logger.warning("File system source: base path \(configuration.basePath) of model \(configuration.name) does not exist or is not a directory")
            present = [:]
        }
        let aspired = configuration.versionPolicy.aspired(from: Array(present.keys))
        let known = state.withLock { $0.models[configuration.name]?.versions ?? [:] }

        for version in aspired.sorted(by: >) {
            guard let directory = present[version] else { continue }
            if let entry = known[version], entry.servable != nil || entry.status.error != nil || entry.status.state != .end {
                continue
            }
            load(configuration, version: version, directory: directory)
        }

        let aspiredSet = Set(aspired)
        let anyAspiredAvailable = state.withLock { state in
            aspired.contains { state.models[configuration.name]?.versions[$0]?.status.state == .available }
        }
        let stale = state.withLock { state -> [Int64] in
            guard let record = state.models[configuration.name] else { return [] }
            return record.versions.keys.filter { !aspiredSet.contains($0) }
        }
        for version in stale {
            let entry = state.withLock { $0.models[configuration.name]?.versions[version] }
            guard let entry else { continue }
            if entry.servable == nil {
                state.withLock { _ = $0.models[configuration.name]?.versions.removeValue(forKey: version) }
                continue
            }
            guard anyAspiredAvailable || aspired.isEmpty || present[version] == nil else { continue }
            unload(configuration.name, version: version)
        }
    }

    private func setStatus(_ model: String, _ version: Int64, _ update: (inout VersionRecord) -> Void) {
        state.withLock { state in
            guard var record = state.models[model]?.versions[version] else { return }
            update(&record)
            state.models[model]?.versions[version] = record
        }
    }

    private func load(_ configuration: ModelConfiguration, version: Int64, directory: String) {
        let model = configuration.name
        state.withLock { state in
            state.models[model]?.versions[version] = VersionRecord(
                status: VersionStatus(version: version, state: .loading), directory: directory, servable: nil)
        }
        logger.info("Loading servable version {name: \(model) version: \(version)} from \(directory)")
        let started = DispatchTime.now().uptimeNanoseconds
        var attempt = 0
        while true {
            do throws(ServingError) {
                let servable = try loader.load(model: model, version: version, directory: directory)
                let routable = ServableVersion(model: model, version: version, directory: directory, servable: servable,
                                               scheduler: scheduler, batching: configuration.batching)
                setStatus(model, version) { record in
                    record.servable = routable
                    record.status = VersionStatus(version: version, state: .available)
                }
                let millis = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
                logger.info("Successfully loaded servable version {name: \(model) version: \(version)} in \(millis) ms")
                return
            } catch {
                attempt += 1
                guard attempt <= maxLoadRetries, !isStopping else {
                    logger.error("Failed to load servable version {name: \(model) version: \(version)}: \(error.message)")
                    setStatus(model, version) { record in
                        record.status = VersionStatus(version: version, state: .end, error: error)
                    }
                    return
                }
                logger.warning("Loading servable version {name: \(model) version: \(version)} failed (attempt \(attempt)), retrying: \(error.message)")
                waitForRetry()
            }
        }
    }

    private func waitForRetry() {
        wakeUp.lock()
        if !isStopping { _ = wakeUp.wait(until: Self.deadline(after: loadRetryInterval)) }
        wakeUp.unlock()
    }

    /// The wall-clock time `duration` from now, for `NSCondition.wait(until:)`.
    private static func deadline(after duration: Duration) -> Date {
        let (seconds, attoseconds) = duration.components
        return Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
    }

    private func unload(_ model: String, version: Int64) {
        logger.info("Unloading servable version {name: \(model) version: \(version)}")
        setStatus(model, version) { record in
            record.servable = nil
            record.status = VersionStatus(version: version, state: .unloading)
        }
        setStatus(model, version) { record in
            record.status = VersionStatus(version: version, state: .end)
        }
    }

    // MARK: - Lookups from requests

    /// The servable a request addresses, with TF Serving's NOT_FOUND wording when there is none.
    public func servable(model: String, version request: VersionRequest) throws(ServingError) -> ServableVersion {
        let found: Result<ServableVersion, ServingError> = state.withLock { state in
            guard let record = state.models[model] else {
                return .failure(.notFound("Servable not found for request: \(Self.describe(request, model: model))"))
            }
            let version: Int64?
            switch request {
            case .latest:
                version = record.versions.filter { $0.value.servable != nil }.keys.max()
            case .specific(let number):
                version = number
            case .label(let label):
                guard let labelled = record.configuration.versionLabels[label] else {
                    return .failure(.invalidArgument("Unrecognized servable version label: \(label)"))
                }
                version = labelled
            }
            guard let version, let servable = record.versions[version]?.servable else {
                return .failure(.notFound("Servable not found for request: \(Self.describe(request, model: model))"))
            }
            return .success(servable)
        }
        return try found.get()
    }

    static func describe(_ request: VersionRequest, model: String) -> String {
        switch request {
        case .latest: "Latest(\(model))"
        case .specific(let version): "Specific(\(model), \(version))"
        case .label(let label): "Label(\(model), \(label))"
        }
    }

    /// Status of every known version of `model` (or of one), newest first.
    public func status(model: String, version: Int64? = nil) throws(ServingError) -> [VersionStatus] {
        let result: Result<[VersionStatus], ServingError> = state.withLock { state in
            guard let record = state.models[model], !record.versions.isEmpty else {
                return .failure(.notFound("Could not find any versions of model \(model)"))
            }
            if let version {
                guard let entry = record.versions[version] else {
                    return .failure(.notFound("Could not find version \(version) of model \(model)"))
                }
                return .success([entry.status])
            }
            return .success(record.versions.values.map(\.status).sorted { $0.version > $1.version })
        }
        return try result.get()
    }

    /// The version a label points to, if the model and label are configured.
    public func version(forLabel label: String, model: String) -> Int64? {
        state.withLock { $0.models[model]?.configuration.versionLabels[label] }
    }

    /// Names of the configured models.
    public var modelNames: [String] { state.withLock { $0.models.keys.sorted() } }

    /// True when every configured model has at least one available version.
    public var isReady: Bool {
        state.withLock { state in
            state.models.values.allSatisfy { record in record.versions.values.contains { $0.servable != nil } }
        }
    }
}
