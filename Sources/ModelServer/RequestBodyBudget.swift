import Tensors
import Transport

/// The transport's view of `RequestMemory.budget`: request bodies are charged to the same bytes as
/// the tensors decoded from them and computed for them.
struct RequestBodyBudget: InflightByteBudget {
    let budget: MemoryBudget

    init(_ budget: MemoryBudget) {
        self.budget = budget
    }

    func reserve(_ bytes: Int) -> Bool { budget.reserve(bytes) }
    func release(_ bytes: Int) { budget.release(bytes) }
    var bytesInUse: Int { budget.bytesInUse }
    var limitBytes: Int { budget.limitBytes }
}
