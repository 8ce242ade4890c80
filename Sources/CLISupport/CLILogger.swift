import Foundation
import Logging

/// CLI loggers are quiet (warnings) unless CROSSREC_LOG_LEVEL names another level.
public func cliLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["CROSSREC_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return logger
}
