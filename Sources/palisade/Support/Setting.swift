import ArgumentParser
import Foundation

/// A setting given on the command line, else in the environment as `PALISADE_<NAME>`, else its
/// default. Values from the environment are checked as strictly as flags and errors name the variable.
struct Setting<Value> {
    let name: String
    let defaultValue: Value
    let parse: (String) -> Value?
    let expectation: String

    var environmentName: String { "PALISADE_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }

    /// Resolves a flag given as text, parsed and checked exactly as the environment value is.
    func resolve(flag text: String?) throws -> Value {
        guard let text else { return try resolve(nil) }
        guard let value = parse(text) else {
            throw ValidationError("--\(name): '\(text)' is not valid: expected \(expectation)")
        }
        return value
    }

    func resolve(_ commandLine: Value?) throws -> Value {
        if let commandLine { return commandLine }
        guard let text = ProcessInfo.processInfo.environment[environmentName], !text.isEmpty else { return defaultValue }
        guard let value = parse(text) else {
            throw ValidationError("\(environmentName)='\(text)' is not valid: expected \(expectation)")
        }
        return value
    }
}

extension Setting where Value == String {
    init(_ name: String, default defaultValue: String) {
        self.init(name: name, defaultValue: defaultValue, parse: { $0 }, expectation: "a string")
    }
}

extension Setting where Value == Int {
    init(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) {
        self.init(name: name, defaultValue: defaultValue, parse: { Int($0).flatMap { range.contains($0) ? $0 : nil } },
                  expectation: "an integer from \(range.lowerBound) to \(range.upperBound)")
    }
}

/// Checks a command-line integer against a range with a message naming the flag.
func checked(_ value: Int?, _ flag: String, _ range: ClosedRange<Int>) throws -> Int? {
    guard let value else { return nil }
    guard range.contains(value) else {
        throw ValidationError("--\(flag) must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
    }
    return value
}
