/// The documented configuration file (configs/crossrecd.yaml, `crossrecd --print-config`),
/// written from the schema: every key with its default (or an example where a default is not
/// what a production file wants), its range of meaning, and whether a reload applies it.
extension Configuration {
    public static var documentedYAML: String {
        var lines = [
            "# crossrecd production configuration. Every key is shown with its default (kafka.bootstrap",
            "# and the domains are examples); unknown keys, wrong types and impossible values stop the",
            "# daemon at start (exit 78) with the key and line. Keys marked [reload] are applied by",
            "# `systemctl reload crossrecd` (SIGHUP); the others need a restart.",
            "# Validate a change without starting: crossrecd --check-config /etc/crossrec/crossrecd.yaml",
            "# This file is written by `crossrecd --print-config` from the schema in",
            "# Sources/DaemonCore/Config/Configuration+Schema.swift (a test keeps the two equal).",
        ]
        let defaults = Configuration()
        for (name, note) in sections {
            lines.append("")
            if name == "domains" {
                lines += note.map { "# " + $0 }
                lines.append("domains:")
                for (index, domain) in exampleDomains.enumerated() {
                    for (position, key) in domainSchema.enumerated() {
                        let lead = position == 0 ? "  - " : "    "
                        lines.append(line(lead, key, value: key.show(domain) ?? "null", help: index == 0))
                    }
                }
                continue
            }
            lines.append("\(name):")
            lines += note.map { "  # " + $0 }
            for key in schema where key.section == name {
                lines += key.note.map { "  # " + $0 }
                let value = key.example ?? key.show(defaults) ?? "null"
                let commented = key.example != nil && key.show(defaults) == nil
                lines.append(line(commented ? "  # " : "  ", key, value: value, help: true))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `name: value`, then the help from column 31 (or two spaces after a longer one).
    private static func line<Root>(_ lead: String, _ key: ConfigKey<Root>, value: String, help: Bool) -> String {
        let text = "\(lead)\(key.name): \(value)"
        guard help else { return text }
        let padded = text.count < 30 ? text + String(repeating: " ", count: 30 - text.count) : text + "  "
        return padded + "# " + key.help + (key.reloadable ? " [reload]" : "")
    }
}
