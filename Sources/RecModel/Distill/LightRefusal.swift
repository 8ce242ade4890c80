/// Why a light version could not be built: the next build has to be full.
public enum LightRefusal: Error, Equatable, CustomStringConvertible {
    /// The base carries no basis: a replica's model, or one decoded from bytes.
    case noBasis
    /// The base's dimensions, domains or users are not an earlier state of this learner.
    case otherShape
    /// No cluster of this domain's index had room left for a new item (ClusterIndex.updated).
    case indexFull(domain: String)

    public var description: String {
        switch self {
        case .noBasis: "the served version has no basis of a full build"
        case .otherShape: "the learner's dimensions, domains or users changed since the full build"
        case .indexFull(let domain): "the cluster index of domain \(domain) has no room left for a new item"
        }
    }
}
