import Foundation
import Models
import RL
import Support
import Testing
import Training

@Suite struct ConfigTests {
    @Test func aFileNamesOnlyWhatItChanges() throws {
        let config = try TrainConfig.load(yaml: "algorithm:\n  advantage: grpo\nactor:\n  lr: 2.0e-6\n")
        var expected = TrainConfig()
        expected.algorithm.advantage = .grpo
        expected.actor.lr = 2e-6
        #expect(config == expected)
        #expect(try TrainConfig.load(yaml: "") == TrainConfig())
    }

    @Test func commandLineOverridesWin() throws {
        let config = try TrainConfig.load(
            yaml: "actor:\n  lr: 1.0e-6\n",
            overrides: [
                "actor.lr=3e-5", "rollout.group_size=4", "algorithm.kl_loss=false",
                "engine.spec=sim+http://10.0.0.1:6001",
            ])
        #expect(config.actor.lr == 3e-5)
        #expect(config.rollout.groupSize == 4)
        #expect(!config.algorithm.klLoss)
        #expect(config.engine.spec == "sim+http://10.0.0.1:6001")
    }

    @Test func mistakesAreNamed() {
        func message(_ yaml: String, _ overrides: [String] = []) -> String {
            do {
                _ = try TrainConfig.load(yaml: yaml, overrides: overrides)
                return ""
            } catch { return "\(error)" }
        }
        #expect(message("actor:\n  lrr: 1\n") == "actor.lrr: unknown setting (did you mean actor.lr?)")
        #expect(message("", ["rollout.groupsize=3"]).contains("did you mean rollout.group_size?"))
        #expect(message("algorithm:\n  advantage: gpro\n").contains("algorithm.advantage"))
        #expect(message("actor:\n  lr: fast\n").contains("actor.lr"))
        #expect(message("actor:\n  lr: -1\n").contains("actor.lr: must be positive"))
        #expect(message("", ["rollout.group_size=1", "algorithm.advantage=grpo"]).contains("rollout.group_size"))
        #expect(message("- a\n- b\n").contains("mapping"))
        #expect(message("actor: [unclosed\n").contains("not valid YAML"))
        #expect(message("", ["noequals"]).contains("KEY=VALUE"))
        #expect(message("actor:\n  lr: .inf\n").contains("actor.lr: must be positive"))
        #expect(message("algorithm:\n  grpo_epsilon: 0\n  advantage: grpo\n").contains("algorithm.grpo_epsilon: must be positive"))
        #expect(message("engine:\n  top_k: 0\n").contains("engine.top_k: must be positive"))
        #expect(message("engine:\n  spec: sim+local:x\n").contains("engine.spec"))
        #expect(message("policy:\n  lora:\n    targets: [qq_proj]\n").contains("policy.lora.targets: unknown target 'qq_proj'"))
    }

    /// Issue 18's findings: values that passed validation and died steps
    /// later, or allocated without bound. Each is refused by name at load.
    @Test func everyNumberHasItsRange() {
        func message(_ overrides: [String], yaml: String = "") -> String {
            do {
                _ = try TrainConfig.load(yaml: yaml, overrides: overrides)
                return ""
            } catch { return "\(error)" }
        }
        let cases: [([String], String)] = [
            (["actor.weight_decay=-1"], "actor.weight_decay"),
            (["algorithm.kl_loss_coef=-1"], "algorithm.kl_loss_coef"),
            (["algorithm.kl_loss_coef=.nan"], "algorithm.kl_loss_coef"),
            (["algorithm.entropy_coef=.nan"], "algorithm.entropy_coef"),
            (["algorithm.advantage=grpo", "algorithm.grpo_epsilon=-1"], "algorithm.grpo_epsilon"),
            (["engine.top_k=0"], "engine.top_k"),
            (["rollout.max_context_tokens=1"], "rollout.max_context_tokens"),
            (["actor.lr=1e30"], "actor.lr"),
            (["actor.lr=.nan"], "actor.lr"),
            (["rollout.prompts_per_step=1000000000"], "rollout.prompts_per_step"),
            (["rollout.group_size=1000000000"], "rollout.group_size"),
            (["trainer.total_steps=-5"], "trainer.total_steps"),
            (["curriculum.end=.nan"], "curriculum"),
            (["rollout.temperature=.nan"], "rollout.temperature"),
        ]
        for (overrides, field) in cases {
            let text = message(overrides)
            #expect(text.contains(field), "\(overrides): \(text.isEmpty ? "accepted" : text)")
        }
        let deep = "actor: " + String(repeating: "[", count: 5000)
        #expect(message([], yaml: deep).contains("nested deeper than"))
        #expect(message(["actor.lr=" + String(repeating: "[", count: 5000)]).contains("nested deeper than"))
        let indented = (0..<100).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
        #expect(message([], yaml: indented).contains("nested deeper than"))
    }

    /// Every estimator honours the settings it reads; a setting it would
    /// silently ignore is refused, naming the estimators that read it.
    @Test func settingsAnEstimatorIgnoresAreRefused() {
        func message(_ overrides: [String]) -> String {
            do {
                _ = try TrainConfig.load(yaml: "", overrides: overrides)
                return ""
            } catch { return "\(error)" }
        }
        #expect(
            message(["algorithm.advantage=dr_grpo", "algorithm.grpo_epsilon=1e-4"])
                == "algorithm.grpo_epsilon: dr_grpo does not use it (it applies to grpo); remove it")
        #expect(message(["algorithm.kl_in_reward=true"]).hasPrefix("algorithm.kl_in_reward: reinforce does not use it"))
        #expect(message(["algorithm.advantage=grpo", "algorithm.gamma=0.9"]).hasPrefix("algorithm.gamma: grpo does not use it"))
        #expect(message(["algorithm.advantage=dr_grpo", "algorithm.grpo_singleton=zero"]) == "")
        #expect(message(["algorithm.advantage=gae", "algorithm.lambda=0.95", "algorithm.kl_in_reward=true"]) == "")
    }

    @Test func yamlRoundTrips() throws {
        var config = TrainConfig()
        config.algorithm.advantage = .reinforcePlusPlus
        config.algorithm.lossAggMode = .seqMeanTokenSumNorm
        config.rollout.template = "Q: {question}\n"
        // Strings that read as numbers, booleans or null unless quoted.
        config.engine.servedModel = "0.5"
        config.engine.apiKeyEnv = "true"
        config.data.train = "null"
        config.evaluation.engine = ""
        config.engine.temperature = 0.7
        let text = try config.yaml()
        #expect(text.contains("temperature: 0.7\n") && text.contains("timeout: 60.0\n"), "numbers as people write them")
        #expect(try TrainConfig.load(yaml: config.yaml()) == config)
    }

    /// The training configs the project ships load and validate (the real
    /// run's, `zerosearch real`'s settings, is RealRunTests').
    @Test func shippedConfigsLoad() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
            $0.hasSuffix(".yaml") && $0 != "nq-wiki-smollm2.yaml"
        }
        #expect(files.count >= 4)
        for file in files {
            #expect(throws: Never.self, "\(file)") { _ = try TrainConfig.load(contentsOf: folder.appendingPathComponent(file)) }
        }
        let reinforce = try TrainConfig.load(contentsOf: folder.appendingPathComponent("zerosearch-reinforce.yaml"))
        #expect(reinforce.algorithm.advantage == .reinforce && reinforce.rollout.groupSize == 5 && reinforce.actor.lr == 1e-6)
    }

    /// docs/training.md's table names every field of the config, once, with
    /// the default the code has.
    @Test func documentedConfigMatchesTheCode() throws {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/training.md")
        let text = try String(contentsOf: page, encoding: .utf8)
        let table = try #require(text.range(of: "| key | default | meaning |"))
        var documented: [String: String] = [:]
        for line in text[table.upperBound...].split(separator: "\n").dropFirst().prefix(while: { $0.hasPrefix("|") }) {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let key = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            #expect(documented[key] == nil, "\(key) is documented twice")
            documented[key] = cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
        var config = TrainConfig()
        config.policy.lora = LoRAConfig()  // the optional section's own defaults
        var inCode: [String: JSONValue] = ["policy.lora": .null]
        func flatten(_ value: JSONValue, _ path: String) {
            if let members = value.members {
                for member in members { flatten(member.value, path.isEmpty ? member.name : "\(path).\(member.name)") }
            } else {
                inCode[path] = value
            }
        }
        flatten(try JSONValue.parse(JSONEncoder().encode(config)), "")
        let undocumented = Set(inCode.keys).subtracting(documented.keys).sorted()
        let unknown = Set(documented.keys).subtracting(inCode.keys).sorted()
        #expect(undocumented.isEmpty && unknown.isEmpty, "undocumented: \(undocumented); not in the code: \(unknown)")
        for (key, value) in inCode {
            guard let cell = documented[key], key != "rollout.template" else { continue }
            let matches: Bool =
                switch value {
                case .null: cell == "null"
                case .bool(let flag): cell == String(flag)
                case .string(let text): cell == (text.isEmpty ? "\"\"" : text)
                case .list(let items): cell == "[" + items.compactMap(\.string).joined(separator: ", ") + "]"
                default: Double(cell) == value.number
                }
            #expect(matches, "\(key): documented \(cell), code \(value)")
        }
    }
}

@Suite struct OptionalConfigSectionTests {
    @Test func loraIsOffUnlessGiven() throws {
        #expect(try TrainConfig.load(yaml: "").policy.lora == nil)
        let config = try TrainConfig.load(yaml: "policy:\n  lora:\n    rank: 4\n    alpha: 8\n    targets: [q_proj]\n")
        #expect(config.policy.lora?.rank == 4 && config.policy.lora?.targets == ["q_proj"])
        #expect(throws: (any Error).self) {
            try TrainConfig.load(yaml: "policy:\n  lora:\n    rank: 0\n    alpha: 8\n    targets: [q_proj]\n")
        }
        let partial = try TrainConfig.load(yaml: "policy:\n  lora:\n    rank: 16\n")
        #expect(partial.policy.lora == LoRAConfig(rank: 16))
    }
}
