import Foundation

/// Why a file could not be read, in words a user acts on ("no such file", "is a directory"),
/// instead of Foundation's `NSCocoaErrorDomain Code=260` text.
public enum FileProblem {
    public static func describe(path: String, error: any Error) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return "no such file" }
        if isDirectory.boolValue { return "is a directory, not a file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "permission denied" }
        // An errno under Foundation's error says the rest (EIO, too many open files, …).
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if (error as NSError).domain == NSCocoaErrorDomain, (error as NSError).code == NSFileReadInapplicableStringEncodingError {
            return "not UTF-8 text"
        }
        return error.localizedDescription
    }
}
