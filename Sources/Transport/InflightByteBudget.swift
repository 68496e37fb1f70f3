/// A bound on the bytes all requests in flight may hold together, shared with the layers above the
/// transport (which charge decoded tensors to the same budget). The transport charges each request
/// body as it arrives, before buffering it, and releases the charge when the request is over.
///
/// Implementations are called on event loops for every request with a body: they must not block
/// and should not lock.
public protocol InflightByteBudget: Sendable {
    /// Takes `bytes` from the budget if they fit; false (and nothing taken) otherwise.
    func reserve(_ bytes: Int) -> Bool
    /// Gives back bytes taken by `reserve`.
    func release(_ bytes: Int)
    /// Bytes currently taken.
    var bytesInUse: Int { get }
    /// The bound, in bytes.
    var limitBytes: Int { get }
}
