import Tensors

/// A model version loaded into memory and ready to compute; produced by a `ServableLoader`.
public protocol LoadedServable: Sendable {
    var signatures: [String: SignatureSpec] { get }

    /// Bytes the loaded version holds (weights, constants, tables); nil when unknown, in which case
    /// the size of its files stands in for it.
    var footprintBytes: Int64? { get }

    /// Runs one signature on (possibly batched) inputs. Called from batch threads, concurrently.
    func run(signature: String, inputs: [String: Tensor]) throws(ServingError) -> [String: Tensor]

    /// Runs each warmup request once before the version is served; an error fails the load.
    func warmUp() throws(ServingError)
}

extension LoadedServable {
    public var footprintBytes: Int64? { nil }
    public func warmUp() throws(ServingError) {}
}

/// Turns a version directory into a loaded servable (read files, compile, warm up).
public protocol ServableLoader: Sendable {
    func load(model: String, version: Int64, directory: String) throws(ServingError) -> any LoadedServable

    /// What `directory` still lacks before a load can succeed ("waiting for variables/variables.index"),
    /// or nil when every file a load reads is in place. Files that are present but unreadable are
    /// not "missing": the load reports them.
    func missingPart(of directory: String) -> String?

    /// Hands memory freed by unloaded versions back to the operating system.
    func releaseUnusedMemory()
}

extension ServableLoader {
    public func missingPart(of directory: String) -> String? { nil }
    public func releaseUnusedMemory() {}
}
