/// What a reload (SIGHUP) can change in place, and what needs a restart: the keys marked
/// `reload: true` in the schema (Configuration+Schema.swift) are applied at once.
extension Configuration {
    /// Keys whose new values a running daemon applies at once.
    public static var liveKeys: [String] { schema.filter(\.reloadable).map(\.path) }

    /// The keys that differ in `new`: those applied live, and those that need a restart
    /// (`domains` when any domain changed).
    public func reloadPlan(to new: Configuration) -> (live: [String], restart: [String]) {
        let changed = Self.schema.filter { !$0.same(self, new) }
        var restart = changed.filter { !$0.reloadable }.map(\.path)
        if domains != new.domains { restart.insert("domains", at: 0) }
        return (changed.filter(\.reloadable).map(\.path), restart)
    }

    /// This configuration with the live keys' values of `other`.
    public func withLiveKeys(of other: Configuration) -> Configuration {
        var result = self
        for key in Self.schema where key.reloadable { key.copy(&result, other) }
        return result
    }
}
