import Tensors

extension ModelManager {
    /// The servable a request addresses, with TF Serving's NOT_FOUND wording when there is none. A label
    /// pointing at a version that is not serving yet answers UNAVAILABLE, saying where that version is.
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
                if let entry = record.versions[labelled], entry.servable == nil,
                   entry.status.state == .start || entry.status.state == .loading {
                    return .failure(.unavailable(
                        "Version \(labelled) of model \(model), which label '\(label)' points to, is not available yet (\(entry.status.state == .start ? "START" : "LOADING"))"))
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

    /// Every known version of `model` with its load time and, while it serves, the servable; newest first.
    public func details(model: String) -> [VersionDetails] {
        state.withLock { state in
            (state.models[model]?.versions.values ?? [:].values).map { entry in
                VersionDetails(status: entry.status, loadedAtUnixMillis: entry.servable == nil ? nil : entry.loadedAtUnixMillis,
                               loadMilliseconds: entry.servable == nil ? nil : entry.loadMilliseconds, servable: entry.servable)
            }.sorted { $0.status.version > $1.status.version }
        }
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

    /// Bytes the loaded versions hold, as measured at load (the memory budget's view).
    public var loadedBytes: Int64 {
        state.withLock { state in
            state.models.values.reduce(Int64(0)) { total, record in
                record.versions.values.reduce(total) { $0 + ($1.servable == nil ? 0 : $1.footprint) }
            }
        }
    }
}

/// A version as the status page shows it.
public struct VersionDetails: Sendable {
    public var status: VersionStatus
    /// When the serving instance became available, in Unix milliseconds, and how long its load took.
    public var loadedAtUnixMillis: Int64?
    public var loadMilliseconds: Int?
    /// The serving instance, while there is one.
    public var servable: ServableVersion?
}
