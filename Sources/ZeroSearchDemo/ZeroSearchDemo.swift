import DemoCLI

/// `zerosearch-demo`: `zerosearch demo` without the rest of the CLI, what `make demo` builds.
@main
enum ZeroSearchDemo {
    static func main() async { await DemoCommand.main() }
}
