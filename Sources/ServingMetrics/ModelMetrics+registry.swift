import Tensors

extension ModelMetrics {
    /// How many names of models the server does not serve get series of their own; requests for
    /// further such names are counted under the model name "" (as requests that name no model are),
    /// so clients cannot grow the exposition without bound.
    public static let unservedModelNameLimit = 100

    private struct Registry {
        var byName: [String: ModelMetrics] = [:]
        var unservedNames = 0
    }

    /// A pthread-locked value rather than a `Mutex`: ThreadSanitizer follows its hand-over (see `LockedValue`).
    private static let registry = LockedValue(Registry())

    /// The metrics of a model the server serves (or is configured to serve).
    public static func served(_ name: String) -> ModelMetrics {
        registry.withLock { registry in
            if let metrics = registry.byName[name] { return metrics }
            let metrics = ModelMetrics(modelName: name)
            registry.byName[name] = metrics
            return metrics
        }
    }

    /// The metrics a request for `name` is counted under when no loaded version of it was found.
    /// Takes a lock: for failing requests only; requests that reach a version use its metrics.
    public static func requested(_ name: String) -> ModelMetrics {
        registry.withLock { registry in
            if let metrics = registry.byName[name] { return metrics }
            let key = registry.unservedNames < unservedModelNameLimit ? name : ""
            if let metrics = registry.byName[key] { return metrics }
            let metrics = ModelMetrics(modelName: key)
            registry.byName[key] = metrics
            if key == name { registry.unservedNames += 1 }
            return metrics
        }
    }
}
