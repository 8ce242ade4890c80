import Atomics
import Dispatch
import Logging
import Metrics
import RecModel
import ServiceLifecycle
import Synchronization

/// Builds the serving model from the learner every `intervalSeconds` or `everyEvents` applied
/// events, whichever comes first, off the ingest thread, and publishes it with one atomic
/// swap. The first version is built at start, from the restored (or empty) learner.
///
/// Isolation: the published model is an immutable instance behind a `ManagedAtomic` reference:
/// queries load it without a lock and keep it for the whole request. Builds are serial (one
/// `AsyncStream` consumed by `run`); `status` and the schedule are under `Mutex`es.
///
/// Graceful shutdown cancels the build in progress and drops the queued ones: ingest and the
/// final checkpoint stop after this service, and should not wait for a model no one will serve.
public final class DistillService: Service, Sendable {
    /// The reference the atomic holds (`AtomicReference` needs a class of its own).
    final class Published: AtomicReference, Sendable {
        let model: ServingModel
        init(_ model: ServingModel) { self.model = model }
    }

    public struct Status: Sendable {
        public var builds = 0
        /// Of those, light versions (RecModel's Learner+LightDistill.swift).
        public var lightBuilds = 0
        /// Light versions published since the last full build.
        public var lightSinceFull = 0
        /// Monotonic ns when the current version was published (0: none yet).
        public var publishedNanos: UInt64 = 0
        /// Time the writer thread spent cutting the snapshot of the latest build.
        public var stallNanos: UInt64 = 0
    }

    public struct Schedule: Sendable, Equatable {
        public var intervalSeconds: Double
        /// 0: only the interval.
        public var everyEvents: Int
        /// A full build every this many versions, light versions between (1: every build is full).
        public var fullEvery = 1
        public var options: DistillOptions
    }

    private enum Request: Sendable {
        case build(reason: String)
    }

    private let ingest: IngestService
    private let logger: Logger
    private let published: ManagedAtomic<Published?> = ManagedAtomic(nil)
    private let schedule: Mutex<Schedule>
    private let state = Mutex(Status())
    /// The options of the last full build: a light version reuses its projections, maps and
    /// index, so it is built only while the options are still those (a reload of e.g. the
    /// student dimension or the index's clusters takes effect at the next build, a full one).
    private let fullBuildOptions = Mutex<DistillOptions?>(nil)
    /// Versions are numbered by the builder and by `forget`, which publishes a derived version.
    private let nextVersion: Atomic<Int>
    /// Told of every version swapped in (the replication publisher), on the publishing thread.
    private let observer = Mutex<(@Sendable (ServingModel) -> Void)?>(nil)
    /// The running build's cancellation, and whether shutdown began (no build starts after).
    private let builds = Mutex<(running: BuildCancellation?, stopping: Bool)>((nil, false))
    private let requests: AsyncStream<Request>
    private let requestSink: AsyncStream<Request>.Continuation
    private let buildTimer = Metrics.Timer(label: "crossrec_distill_duration_seconds")
    private let versionGauge = Gauge(label: "crossrec_model_version")

    /// - Parameter firstVersion: the number of the first version built (a learner that
    ///   publishes to replicas continues after the newest version on the topic).
    public init(ingest: IngestService, schedule: Schedule, firstVersion: Int = 1, logger: Logger) {
        self.ingest = ingest
        nextVersion = Atomic(firstVersion)
        self.schedule = Mutex(schedule)
        self.logger = logger
        (requests, requestSink) = AsyncStream.makeStream(of: Request.self, bufferingPolicy: .unbounded)
    }

    /// The current serving model; nil until the first build is published.
    public var model: ServingModel? { published.load(ordering: .acquiring)?.model }

    public var status: Status { state.withLock { $0 } }

    /// The fidelity bound builds are checked against.
    public var maxScoreRMSE: Double { schedule.withLock { $0.options.maxScoreRMSE } }

    /// Seconds since the current version was published (nil: none yet).
    public var modelAgeSeconds: Double? {
        let nanos = state.withLock { $0.publishedNanos }
        return nanos == 0 ? nil : Double(DispatchTime.now().uptimeNanoseconds &- nanos) / 1e9
    }

    /// `body` is called with every version swapped in from now on; it must not block.
    public func onPublish(_ body: @escaping @Sendable (ServingModel) -> Void) {
        observer.withLock { $0 = body }
    }

    /// A reload: from the next build on.
    public func update(_ new: Schedule) {
        schedule.withLock { $0 = new }
    }

    /// Forgets `user` in the published model at once (a derived version without them), then
    /// queues a full build so that the transfer map is refitted without them too.
    public func forget(user: String) {
        if let current = model {
            publish(current.removing(user: user, version: nextVersion.add(1, ordering: .relaxed).oldValue), stallNanos: 0)
        }
        requestSink.yield(.build(reason: "forget"))
    }

    /// Builds and publishes the first version from the learner restored at start (before the
    /// services run, so that the daemon never serves without a model).
    public func publishInitial(from learner: Learner) {
        let options = schedule.withLock { $0.options }
        let started = DispatchTime.now().uptimeNanoseconds
        publish(learner.distill(version: nextVersion.add(1, ordering: .relaxed).oldValue, options: options), stallNanos: 0)
        logger.info("first model built", metadata: ["crossrec.build_ms": "\((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)"])
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in await trigger() }
            await withGracefulShutdownHandler {
                if model == nil { await build(reason: "start") }
                for await request in requests {
                    switch request {
                    case .build(let reason):
                        await build(reason: reason)
                    }
                }
            } onGracefulShutdown: { [self] in
                builds.withLock { builds in
                    builds.stopping = true
                    builds.running?.cancel()
                }
                // The stream still delivers what it buffered: `build` refuses those.
                requestSink.finish()
            }
            group.cancelAll()
        }
    }

    /// Queues a build when the interval has passed or enough events arrived since the last.
    private func trigger() async {
        var lastEvents = ingest.status.appliedEvents
        var lastNanos = DispatchTime.now().uptimeNanoseconds
        var settling = false
        while (try? await Task.sleep(for: .milliseconds(100))) != nil {
            let (intervalSeconds, everyEvents) = schedule.withLock { ($0.intervalSeconds, $0.everyEvents) }
            let events = ingest.status.appliedEvents
            let now = DispatchTime.now().uptimeNanoseconds
            let due = Double(now &- lastNanos) / 1e9 >= intervalSeconds
            let enough = everyEvents > 0 && events - lastEvents >= everyEvents
            guard due || enough else { continue }
            lastNanos = now
            // An idle learner yields the same model (popularity decays with event time, which
            // has not moved): nothing to rebuild, except once a light version, which gives way
            // to a full build so that a quiet daemon serves what a full build gives.
            guard events != lastEvents else {
                if !settling, let model, model.basisVersion != model.version {
                    settling = true
                    requestSink.yield(.build(reason: "settle"))
                }
                continue
            }
            settling = false
            lastEvents = events
            requestSink.yield(.build(reason: enough ? "events" : "interval"))
        }
    }

    /// Builds and publishes a version, unless shutdown began before or during the build.
    private func build(reason: String) async {
        let cancellation = BuildCancellation()
        let admitted = builds.withLock { builds in
            guard !builds.stopping else { return false }
            builds.running = cancellation
            return true
        }
        guard admitted else { return }
        defer { builds.withLock { $0.running = nil } }
        let started = DispatchTime.now().uptimeNanoseconds
        // The version is taken before the cut: a `forget` published after it has a higher
        // version, so a build from a cut older than the forget can never replace it.
        let version = nextVersion.add(1, ordering: .relaxed).oldValue
        let cut = await ingest.cut()
        var (options, fullEvery) = schedule.withLock { ($0.options, $0.fullEvery) }
        let configured = options
        // The joint refit's model, judged at most every `jointRefitJudgeEvery` versions.
        options.keepJointChoice(model?.jointRefit, building: version)
        // A light version on the one served, unless a full build is due; a forget is followed
        // by a full build, so that the transfer maps are fitted without the user, and so is a
        // stream gone quiet ("settle") and a reload that changed the options.
        let lightBase = !["forget", "settle"].contains(reason) && state.withLock({ $0.lightSinceFull }) + 1 < fullEvery
            && fullBuildOptions.withLock({ $0 == configured }) ? model : nil
        let built = await DedicatedThread.run(nice: DedicatedThread.backgroundNice) { [options, logger] in
            Result { () throws(BuildCancelled) in
                if let lightBase {
                    switch try cut.learner.distillLight(version: version, base: lightBase, options: options, cancellation: cancellation) {
                    case .success(let light): return light
                    case .failure(let refusal):
                        // An operator sees why builds got slower (a full build costs ~10× a light one).
                        logger.info(
                            "light version refused: building a full one", metadata: [
                                "crossrec.version": "\(version)", "crossrec.reason": "\(refusal)",
                            ])
                    }
                }
                return try cut.learner.distill(version: version, options: options, cancellation: cancellation)
            }
        }
        guard case .success(let model) = built else {
            logger.info(
                "model build cancelled: shutting down", metadata: [
                    "crossrec.version": "\(version)", "crossrec.reason": "\(reason)",
                    "crossrec.build_ms": "\((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)",
                ])
            return
        }
        let light = model.basisVersion != model.version
        if !light { fullBuildOptions.withLock { $0 = configured } }
        publish(model, stallNanos: cut.stallNanos)
        state.withLock { status in
            status.lightSinceFull = light ? status.lightSinceFull + 1 : 0
            if light { status.lightBuilds += 1 }
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        buildTimer.recordNanoseconds(Int64(elapsed))
        logger.debug(
            "model published", metadata: [
                "crossrec.version": "\(version)", "crossrec.reason": "\(reason)", LoggingKeys.events: "\(model.appliedEvents)",
                "crossrec.build_ms": "\(elapsed / 1_000_000)", "crossrec.build": "\(light ? "light" : "full")",
            ])
        for domain in model.domains where domain.fidelity.scoreRMSE > options.maxScoreRMSE {
            logger.warning(
                "student outside its fidelity bound", metadata: [
                    "crossrec.domain": "\(domain.name)", "crossrec.score_rmse": "\(domain.fidelity.scoreRMSE)",
                    "crossrec.bound": "\(options.maxScoreRMSE)",
                ])
        }
    }

    private func publish(_ model: ServingModel, stallNanos: UInt64) {
        // Versions can finish out of order only between a build and a forget; never go back.
        let new = Published(model)
        var current = published.load(ordering: .acquiring)
        var swapped = false
        while !swapped, current.map({ $0.model.version < model.version }) ?? true {
            (swapped, current) = published.compareExchange(expected: current, desired: new, ordering: .acquiringAndReleasing)
        }
        // A build overtaken by a newer version (a forget) is dropped: the status stays that of
        // the version queries see.
        guard swapped else { return }
        state.withLock { status in
            status.builds += 1
            status.publishedNanos = DispatchTime.now().uptimeNanoseconds
            status.stallNanos = stallNanos
        }
        versionGauge.record(Int64(model.version))
        observer.withLock { $0 }?(model)
    }
}
