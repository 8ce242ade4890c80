/// The release of this build, shared by the daemon, its CLI and the benchmarks: `--version`,
/// `health` and `stats` answers, and the metadata of every checkpoint written. Raised with each
/// release (the package has no other version source that `swift build` alone would see).
public enum CrossrecVersion {
    public static let current = "0.9.0"
}
