extension ModelManager {
    enum BudgetVerdict {
        case fits
        /// Fits once these versions of the same model (the ones it replaces) are unloaded.
        case fitsAfterUnloading([Int64])
        case refused(String)
    }

    /// Whether a load needing `need` bytes fits `--memory_budget_bytes` beside what is loaded and loading.
    func budget(
        for need: Int64, model: ModelRecord, version: Int64, aspired: Set<Int64>, in state: State
    ) -> BudgetVerdict {
        let budget = options.memoryBudgetBytes
        guard budget > 0 else { return .fits }
        let used = state.models.values.reduce(Int64(0)) { total, record in
            record.versions.values.reduce(total) { $0 + ($1.servable == nil ? 0 : $1.footprint) + $1.reserved }
        }
        if used + need <= budget { return .fits }
        let replaced = model.versions
            .filter { $0.value.servable != nil && ($0.key == version || !aspired.contains($0.key)) }
        let freed = replaced.values.reduce(Int64(0)) { $0 + $1.footprint }
        if options.overBudget == .unloadFirst, used - freed + need <= budget {
            return .fitsAfterUnloading(replaced.keys.sorted())
        }
        var reason = "loading it needs about \(need) bytes, and \(used) of the \(budget)-byte memory budget (--memory_budget_bytes) are in use"
        if options.overBudget == .refuse, used - freed + need <= budget {
            reason += "; --memory_budget_overflow=unload_first would unload the versions it replaces first"
        }
        return .refused(reason)
    }
}
