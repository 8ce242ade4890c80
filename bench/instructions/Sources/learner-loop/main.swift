// Reads events from standard input (TSV: user, item, rating, time in seconds; one header
// line) and applies them to the learner in that order, as `crossrec replay --dimension 32`
// does after its sort. Prints the RMSE and a checksum of the predictions: both must match
// between two builds whose counts are compared. Ids are interned and each rating is moved
// into `apply`, as in the replay. No Foundation: it would bring libdispatch, which valgrind
// cannot run.
import RecModel

var ids: [Substring: String] = [:]
var events: [Rating] = []
_ = readLine()
while let line = readLine() {
    let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
    guard fields.count >= 4, let value = Double(fields[2]), let seconds = Double(fields[3]) else { continue }
    let user = ids[fields[0]] ?? String(fields[0])
    let item = ids[fields[1]] ?? String(fields[1])
    ids[fields[0]] = user
    ids[fields[1]] = item
    events.append(Rating(domain: 0, user: user, item: item, value: value, timestampMillis: Int64(seconds * 1000)))
}
let ratings = UnsafeMutableBufferPointer<Rating>.allocate(capacity: events.count)
_ = ratings.initialize(from: events)
var configuration = LearnerConfiguration(domains: [DomainSpec(name: "default", ratingRange: 1...5)])
configuration.dimension = 32
var learner = Learner(configuration: configuration)
var checksum = 0.0
for index in ratings.indices { checksum += learner.apply(ratings.moveElement(from: index)) }
print("events \(ratings.count) rmse \(learner.statistics(domain: 0).metrics.rmse) checksum \(checksum)")
