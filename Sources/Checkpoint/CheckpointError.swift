/// Why a checkpoint could not be written or read. Each kind of damage has its own code, and the
/// message names the file and, for I/O, the step that failed.
public struct CheckpointError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// A system call failed (`step` says which; `errno` is in the message).
        case io
        /// Not a checkpoint file.
        case badMagic = "bad_magic"
        /// Written by a newer crossrec: this build refuses it rather than misread it.
        case newerVersion = "newer_version"
        /// The file stops before its end section.
        case truncated
        /// A checksum does not match: the bytes changed after they were written.
        case checksum
        /// A mandatory section of a kind this build does not know.
        case unknownSection = "unknown_section"
        /// A section decodes to impossible values, or one is missing.
        case malformed
        /// Written under a configuration this one cannot load (dimension, seed, domains).
        case incompatible
    }

    public var code: Code
    public var message: String
    /// The failing system call for `.io` (e.g. "fsync", "rename").
    public var step: String?
    /// The errno of `.io`.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, step: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.step = step
        self.errno = errno
    }

    public var description: String { message }
}
