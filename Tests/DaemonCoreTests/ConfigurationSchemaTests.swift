@testable import DaemonCore
import Foundation
import Testing

/// The schema table drives parsing, reload and the documented file; these tests hold the
/// three to it.
@Suite("Configuration schema")
struct ConfigurationSchemaTests {
    @Test func theShippedFileIsTheDocumentedSchema() throws {
        let shipped = try String(contentsOfFile: "\(repositoryRoot)/configs/crossrecd.yaml", encoding: .utf8)
        #expect(shipped == Configuration.documentedYAML, "regenerate it: .build/debug/crossrecd --print-config > configs/crossrecd.yaml")
        for key in Configuration.schema {
            #expect(shipped.contains("\n  \(key.name): ") || shipped.contains("\n  # \(key.name): "), "\(key.path) is not documented")
        }
    }

    /// Every key but the marked examples shows its default: the file parses to a default
    /// configuration with the example domains.
    @Test func theDocumentedFileParsesToTheDefaults() throws {
        let parsed = try Configuration.parse(yaml: Configuration.documentedYAML)
        let defaults = Configuration()
        for key in Configuration.schema where key.example == nil {
            #expect(key.same(parsed, defaults), "\(key.path): the file shows \(key.show(parsed) ?? "null"), the default is \(key.show(defaults) ?? "null")")
        }
        #expect(parsed.domains == Configuration.exampleDomains)
    }

    /// A wrong type for any key is refused with that key's path: no key is read by a branch
    /// meant for another.
    @Test func everyKeyRefusesAWrongTypeByItsOwnName() {
        for key in Configuration.schema {
            // A mapping is no key's type but `kafka.properties`'; a list is not that one's.
            let wrong = key.name == "properties" ? "[1, 2]" : "{nested: 1}"
            let yaml = "domains:\n  - name: movies\n    topic: ratings.movies\n\(key.section):\n  \(key.name): \(wrong)\n"
            #expect {
                _ = try Configuration.parse(yaml: yaml)
            } throws: { error in
                (error as? ConfigError)?.key == key.path
            }
        }
    }

    @Test func aReloadAppliesExactlyTheReloadableKeys() throws {
        let old = try Configuration.parse(yaml: Configuration.documentedYAML)
        var new = old
        new.socket.maxK = 10
        new.model.dimension = 8
        new.checkpoint.retain = 9
        let (live, restart) = old.reloadPlan(to: new)
        #expect(live == ["socket.max_k", "checkpoint.retain"])
        #expect(restart == ["model.dimension"])
        let running = old.withLiveKeys(of: new)
        #expect(running.socket.maxK == 10 && running.checkpoint.retain == 9 && running.model.dimension == old.model.dimension)
        #expect(Configuration.liveKeys.contains("socket.max_k") && !Configuration.liveKeys.contains("model.dimension"))
    }
}
