import CKernels
import COpenBLAS
import Synchronization

/// The threads one kernel call may use: OpenBLAS's count and the packed kernels' pool. Both are
/// process-wide and changing OpenBLAS's while GEMMs run elsewhere is unsafe, so the count is set only
/// when the requested one differs from the last one set.
enum IntraOpThreads {
    private static let current = Mutex<Int?>(nil)

    static func configure(_ threads: Int) {
        let wanted = max(1, threads)
        current.withLock { value in
            guard value != wanted else { return }
            openblas_set_num_threads(Int32(clamping: wanted))
            pg_set_threads(Int32(clamping: wanted))
            value = wanted
        }
    }
}
