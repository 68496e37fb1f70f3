/// What one execution of a queue costs as a function of its rows, fitted to the executions seen so
/// far: time ≈ fixed + perRow × rows, by least squares with older executions weighing less
/// (each new one multiplies the weight of the others by `decay`).
///
/// It gives the largest execution that finishes within a time budget. Until executions of different
/// sizes are seen, the whole time of an execution is taken as per-row cost, which overestimates what
/// more rows cost; the cap is then one row more than the last execution, so the next one measures a
/// new size and the fit can tell the two costs apart. A fit is trusted only near the sizes it was measured
/// on: the cap is at most twice the largest execution seen, so a noisy early fit grows executions by
/// doubling rather than jumping far past what was measured.
struct ExecutionCostModel {
    private var weight = 0.0
    private var sumRows = 0.0
    private var sumRowsSquared = 0.0
    private var sumNanos = 0.0
    private var sumRowsNanos = 0.0
    private var lastRows = 0
    private var largestRows = 0
    let decay: Double

    init(decay: Double = 0.95) {
        self.decay = decay
    }

    mutating func record(rows: Int, nanoseconds: UInt64) {
        guard rows > 0 else { return }
        let r = Double(rows), t = Double(nanoseconds)
        weight = weight * decay + 1
        sumRows = sumRows * decay + r
        sumRowsSquared = sumRowsSquared * decay + r * r
        sumNanos = sumNanos * decay + t
        sumRowsNanos = sumRowsNanos * decay + r * t
        lastRows = rows
        largestRows = max(largestRows, rows)
    }

    /// The fitted (fixed, perRow) costs in nanoseconds, and whether sizes varied enough to separate
    /// them; nil before any execution.
    var fit: (fixed: Double, perRow: Double, separated: Bool)? {
        guard weight > 0, sumRows > 0 else { return nil }
        let spread = weight * sumRowsSquared - sumRows * sumRows
        if spread > 1e-9 * weight * sumRowsSquared {
            let perRow = (weight * sumRowsNanos - sumRows * sumNanos) / spread
            let fixed = (sumNanos - perRow * sumRows) / weight
            if perRow > 0, fixed >= 0 { return (fixed, perRow, true) }
        }
        return (0, sumNanos / sumRows, false)
    }

    /// The most rows (1...`limit`) an execution may take to be expected to finish within `budget`
    /// nanoseconds; 1 before any execution is measured.
    func rows(within budget: Double, limit: Int) -> Int {
        guard let (fixed, perRow, separated) = fit, perRow > 0 else { return 1 }
        let fitting = max(1, (budget - fixed) / perRow)
        let rows = fitting >= Double(limit) ? limit : Int(fitting)
        return separated ? min(rows, 2 * largestRows) : min(limit, max(rows, lastRows + 1))
    }
}
