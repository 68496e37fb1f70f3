import Testing
@testable import Tensors

@Suite struct MemoryBudgetTests {
    @Test func reservationsPastTheLimitAreRefusedAndUndone() {
        let budget = MemoryBudget(limitBytes: 100)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(50))
        #expect(budget.bytesInUse == 60)
        #expect(budget.reserve(40))
        budget.release(60)
        #expect(budget.bytesInUse == 40)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(1))
    }

    @Test func buffersCreatedUnderAChargeHoldItUntilFreed() throws {
        let budget = MemoryBudget(limitBytes: 1 << 20)
        let charge = MemoryCharge(budget: budget)
        var kept: TensorBuffer? = RequestMemory.$currentCharge.withValue(charge) {
            _ = TensorBuffer(byteCount: 100)
            return TensorBuffer(byteCount: 512 << 10)
        }
        #expect(budget.bytesInUse == 512 << 10, "only buffers of 64 KiB and more are charged")
        #expect(throws: Never.self) { try charge.check() }
        RequestMemory.$currentCharge.withValue(charge) {
            _ = TensorBuffer(byteCount: 768 << 10)
        }
        #expect(budget.bytesInUse == 512 << 10, "a buffer that did not fit holds nothing")
        #expect(throws: ServingError.self) { try charge.check() }
        kept = nil
        #expect(kept == nil && budget.bytesInUse == 0)
    }

    /// A refusal quotes the limit that applied, and names --max_tensor_elements only when it was that flag's.
    @Test func elementRefusalsNameTheLimitThatApplied() {
        func message(_ dims: [Int64], limit: Int? = nil) -> String? {
            do throws(ServingError) {
                if let limit {
                    try RequestMemory.checkElementCount(dims, limit: limit, what: "a tensor")
                } else {
                    try RequestMemory.checkElementCount(dims, what: "a tensor")
                }
                return nil
            } catch {
                #expect(error.code == .resourceExhausted)
                return error.message
            }
        }
        #expect(message([1000, 1000], limit: 4096) == "a tensor would have 1000000 elements, more than the limit of 4096")
        #expect(message([1 << 20, 1 << 20]) ==
            "a tensor would have \(1 << 40) elements, more than the limit of \(RequestMemory.maxTensorElements) (--max_tensor_elements)")
        #expect(message([-1, 1 << 20], limit: 1 << 20) == nil)
    }
}
