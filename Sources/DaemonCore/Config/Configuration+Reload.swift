/// What a reload (SIGHUP) can change in place, and what needs a restart.
extension Configuration {
    /// Keys whose new values a running daemon applies at once.
    public static let liveKeys = [
        "log.level", "log.stats_interval_seconds", "checkpoint.interval_seconds", "checkpoint.retain",
        "distill.interval_seconds", "distill.every_events", "distill.dimension", "distill.max_score_rmse",
        "distill.transfer_ridge", "distill.validation_fraction", "distill.index_clusters", "distill.index_probe",
        "distill.refit_sweeps", "distill.refit_regularizations", "distill.transfer_methods",
        "distill.bridge_regularization", "distill.bridge_bias_regularization", "distill.judged_users",
        "socket.max_line_bytes", "socket.max_k", "socket.max_connections", "socket.idle_timeout_seconds",
        "socket.admin_uids", "socket.answer_cache_mib", "kafka.dead_letter_topic",
    ]

    /// The keys that differ in `new`: those applied live, and those that need a restart.
    public func reloadPlan(to new: Configuration) -> (live: [String], restart: [String]) {
        var live: [String] = []
        func check<T: Equatable>(_ key: String, _ path: KeyPath<Configuration, T>) {
            if self[keyPath: path] != new[keyPath: path] { live.append(key) }
        }
        check("log.level", \.log.level)
        check("log.stats_interval_seconds", \.log.statsIntervalSeconds)
        check("checkpoint.interval_seconds", \.checkpoint.intervalSeconds)
        check("checkpoint.retain", \.checkpoint.retain)
        check("distill.interval_seconds", \.distill.intervalSeconds)
        check("distill.every_events", \.distill.everyEvents)
        check("distill.dimension", \.distill.dimension)
        check("distill.max_score_rmse", \.distill.maxScoreRMSE)
        check("distill.transfer_ridge", \.distill.transferRidge)
        check("distill.validation_fraction", \.distill.validationFraction)
        check("distill.index_clusters", \.distill.indexClusters)
        check("distill.index_probe", \.distill.indexProbe)
        check("distill.refit_sweeps", \.distill.refitSweeps)
        check("distill.refit_regularizations", \.distill.refitRegularizations)
        check("distill.transfer_methods", \.distill.transferMethods)
        check("distill.bridge_regularization", \.distill.bridgeRegularization)
        check("distill.bridge_bias_regularization", \.distill.bridgeBiasRegularization)
        check("distill.judged_users", \.distill.judgedUsers)
        check("socket.max_line_bytes", \.socket.maxLineBytes)
        check("socket.max_k", \.socket.maxK)
        check("socket.max_connections", \.socket.maxConnections)
        check("socket.idle_timeout_seconds", \.socket.idleTimeoutSeconds)
        check("socket.admin_uids", \.socket.adminUIDs)
        check("socket.answer_cache_mib", \.socket.answerCacheMiB)
        check("kafka.dead_letter_topic", \.kafka.deadLetterTopic)

        // Everything else: compare with the live keys taken from `self`.
        let rest = new.withLiveKeys(of: self)
        var restart: [String] = []
        if rest.domains != domains { restart.append("domains") }
        if rest.kafka != kafka { restart.append("kafka") }
        if rest.model != model { restart.append("model") }
        if rest.paths != paths { restart.append("paths") }
        if rest.socket != socket { restart.append("socket.path/mode") }
        if rest.log != log { restart.append("log.format") }
        return (live, restart)
    }

    /// This configuration with the live keys' values of `other`.
    public func withLiveKeys(of other: Configuration) -> Configuration {
        var result = self
        result.log.level = other.log.level
        result.log.statsIntervalSeconds = other.log.statsIntervalSeconds
        result.checkpoint = other.checkpoint
        result.distill = other.distill
        result.socket.maxLineBytes = other.socket.maxLineBytes
        result.socket.maxK = other.socket.maxK
        result.socket.maxConnections = other.socket.maxConnections
        result.socket.idleTimeoutSeconds = other.socket.idleTimeoutSeconds
        result.socket.adminUIDs = other.socket.adminUIDs
        result.socket.answerCacheMiB = other.socket.answerCacheMiB
        result.kafka.deadLetterTopic = other.kafka.deadLetterTopic
        return result
    }
}
