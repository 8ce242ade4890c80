/// Metadata keys of the daemon's log lines.
enum LoggingKeys {
    static let domain = "crossrec.domain"
    static let events = "crossrec.events"
    static let rejected = "crossrec.rejected"
    static let rmse = "crossrec.rmse"
    static let mae = "crossrec.mae"
    static let baselineRMSE = "crossrec.baseline_rmse"
    static let windowRMSE = "crossrec.window_rmse"
    static let users = "crossrec.users"
    static let items = "crossrec.items"
    static let lag = "crossrec.lag"
    static let bootstrap = "kafka.bootstrap"
    static let path = "crossrec.path"
    static let error = "crossrec.error"
}
