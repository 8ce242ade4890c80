import Testing

/// Every suite that runs the built crossrecd as a process. Their tests are synchronous and
/// wait for seconds to minutes on a cooperative thread; run one at a time (this trait applies
/// to the nested suites), they leave the other cooperative threads to the async tests — with
/// two cores, two of them in parallel starved the watchdog test of any thread for a minute.
/// (`make test` runs every test serially for the same reason; this keeps a plain `swift test`
/// closer to safe.)
@Suite("Whole daemon", .serialized)
enum WholeDaemonTests {}
