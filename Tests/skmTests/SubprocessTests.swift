import Foundation
import SKMTestSupport
import Testing

/// The way every test starts a program: what the program inherits, and that a test always gets its answer.
@Suite struct SubprocessTests {
    /// The descriptors a running program holds, by number.
    static func descriptors(of pid: pid_t) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))
    }

    @Test func aProgramHoldsOnlyItsStandardStreams() async throws {
        // A descriptor of the test process that is not closed on exec, as a library or another test may leave one.
        let open = Glibc.open("/dev/null", O_RDONLY)
        try #require(open >= 0)
        defer { close(open) }
        // Long enough to outlive a suite that keeps this test waiting for its turn (it is terminated below).
        let program = try Subprocess(URL(fileURLWithPath: "/bin/sleep"), ["600"])
        defer { program.terminate() }
        // Just after it starts, the program's loader holds each library it opens for a moment; a descriptor it
        // inherited stays. Read again until only the standard streams are left, for two seconds at most.
        var held = try Self.descriptors(of: program.processIdentifier)
        for _ in 0..<100 where held != ["0", "1", "2"] {
            try await Task.sleep(for: .milliseconds(20))
            held = try Self.descriptors(of: program.processIdentifier)
        }
        #expect(held == ["0", "1", "2"])
    }

    /// Something else holding a program's output open (here what it left running in the background) does not keep
    /// the test waiting: the program's exit is its answer, and its output is read for five seconds more at most.
    @Test func aProgramsAnswerDoesNotWaitForWhatHoldsItsOutput() async throws {
        let answer = try await Subprocess.run(
            URL(fileURLWithPath: "/bin/sh"), ["-c", "sleep 30 & echo done"], limit: .seconds(25))
        #expect(answer.output == "done\n")
        #expect(answer.status == 0)
        #expect(answer.duration < .seconds(20), "\(answer.duration)")
    }

    @Test func aProgramThatOverstaysIsKilledWithWhatItStarted() async throws {
        let failure = await #expect(throws: Subprocess.Failure.self) {
            try await Subprocess.run(
                URL(fileURLWithPath: "/bin/sh"), ["-c", "sleep 100 & echo $!; wait"], limit: .seconds(1))
        }
        let text = try #require(failure?.description)
        #expect(text.contains("was still running after 1.0 seconds and was killed"), "\(text)")
        // The program it started in the background is gone too (or waits only to be reaped).
        let background = try #require(
            text.split(whereSeparator: \.isNewline).compactMap { Int32($0.split(separator: " ").last ?? "") }.first,
            "\(text)")
        var gone = false
        for _ in 0..<100 where !gone {
            let stat = (try? String(contentsOfFile: "/proc/\(background)/stat", encoding: .utf8)) ?? ""
            gone = stat.isEmpty || stat.contains(") Z ")
            if !gone { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(gone, "the background sleep (\(background)) still runs")
    }

    /// Input and output far larger than a pipe holds flow at once: a program that writes while it reads never
    /// waits on the test.
    @Test func largeInputAndOutputFlowTogether() async throws {
        let input = Data((0..<4_000_000).map { UInt8(65 + $0 % 26) })
        let copy = try await Subprocess.run(URL(fileURLWithPath: "/bin/cat"), [], input: input)
        #expect(copy.status == 0)
        #expect(Data(copy.output.utf8).count == input.count)
        let counted = try await Subprocess.run(
            URL(fileURLWithPath: "/bin/sh"), ["-c", "head -c 3000000 /dev/zero >&2; wc -c"], input: input)
        #expect(counted.output.trimmingCharacters(in: .whitespacesAndNewlines) == "4000000")
        #expect(counted.error.utf8.count == 3_000_000)
        // A program that reads none of it: the rest is dropped, and the test goes on.
        let unread = try await Subprocess.run(URL(fileURLWithPath: "/bin/true"), [], input: input)
        #expect(unread.status == 0)
    }
}
