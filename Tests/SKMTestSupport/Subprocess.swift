import CSubprocess
import Foundation
import Synchronization

/// A program a test starts: the `skm` binary, curl, a shell, a Python server.
///
/// It inherits the three standard streams the test gives it and no other descriptor of the test process. Foundation's
/// `Process` closes the others one by one from a list it makes before the program starts; a pipe another test opens
/// in between is inherited, and when the program is a server that runs for the whole test, the other test waits for
/// the end of its output until that server stops: for ever, if that test's server holds a pipe of this one. Here the
/// child closes every descriptor above standard error as it starts, and the pipes are closed on exec from the moment
/// they exist.
///
/// Output is read as it comes, so a program never blocks on a full pipe; its exit is seen by `waitpid` on a thread of
/// its own. `run` and `finish` hold no thread of the concurrency pool while they wait; `runBlocking` blocks its caller.
package final class Subprocess: Sendable {
    package struct Result: Sendable {
        package var status: Int32
        package var output: String
        package var error: String
        /// From the start to the end of its output, as the threads that watch it saw it: a test waiting for a thread
        /// of the concurrency pool takes longer to see the result.
        package var duration: Duration
    }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    package let processIdentifier: pid_t
    /// The command line, for messages.
    private let command: String
    private let startedAt = ContinuousClock.now
    private let state = Mutex(State())
    /// The reaper writes a byte here when the program has exited; the reader polls it beside the output.
    private let exited: (read: Int32, write: Int32)

    private struct State {
        var output: [UInt8] = []
        var error: [UInt8] = []
        /// The status `waitpid` gave, once the program has exited.
        var waitStatus: Int32?
        /// Set when the output has been read to its end (or given up on) after the program exited.
        var finished = false
        var finishedAt: ContinuousClock.Instant?
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var blockingWaiters: [DispatchSemaphore] = []
        var nextWaiter = 0
    }

    /// Starts `executable` with `arguments` in `directory` (the current one when `nil`), with `environment` (this
    /// process's when `nil`); `input` is written to its standard input, which is then closed.
    package init(
        _ executable: URL, _ arguments: [String], directory: URL? = nil, environment: [String: String]? = nil,
        input: Data = Data()
    ) throws {
        command = ([executable.path] + arguments).joined(separator: " ")
        let standardInput = try Self.pipe()
        let standardOutput = try Self.pipe()
        let standardError = try Self.pipe()
        exited = try Self.pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, standardInput.read, 0)
        posix_spawn_file_actions_adddup2(&actions, standardOutput.write, 1)
        posix_spawn_file_actions_adddup2(&actions, standardError.write, 2)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        if let directory { posix_spawn_file_actions_addchdir_np(&actions, directory.path) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so that a program that overstays is stopped with everything it started.
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let environmentLines = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            argv.forEach { free($0) }
            environmentLines?.forEach { free($0) }
        }
        var pid = pid_t()
        let spawned =
            environmentLines.map { posix_spawn(&pid, argv[0]!, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, argv[0]!, &actions, &attributes, argv, environ)
        for descriptor in [standardInput.read, standardOutput.write, standardError.write] { close(descriptor) }
        guard spawned == 0 else {
            for descriptor in [standardInput.write, standardOutput.read, standardError.read, exited.read, exited.write]
            {
                close(descriptor)
            }
            throw Failure(description: "\(command) could not be started: \(String(cString: strerror(spawned)))")
        }
        processIdentifier = pid
        _ = fcntl(standardInput.write, F_SETFL, fcntl(standardInput.write, F_GETFL) | O_NONBLOCK)

        let reaper = Thread { [self] in reap() }
        reaper.name = "subprocess \(pid) reaper"
        reaper.start()
        let reader = Thread { [self] in
            read(output: standardOutput.read, error: standardError.read, input: standardInput.write, bytes: input)
        }
        reader.name = "subprocess \(pid) reader"
        reader.start()
    }

    deinit {
        close(exited.read)
        close(exited.write)
    }

    /// Runs a program to its end and collects what it printed. A program still running after `limit` is killed, with
    /// everything it started, and the test fails with what it had printed.
    package static func run(
        _ executable: URL, _ arguments: [String], directory: URL? = nil, environment: [String: String]? = nil,
        input: Data = Data(), limit: Duration = .seconds(600)
    ) async throws -> Result {
        let process = try Subprocess(
            executable, arguments, directory: directory, environment: environment, input: input)
        return try await process.finish(within: limit)
    }

    /// `run` for synchronous callers: it blocks the calling thread, so it must not be a thread of the concurrency
    /// pool that a server under test answers on.
    package static func runBlocking(
        _ executable: URL, _ arguments: [String], directory: URL? = nil, environment: [String: String]? = nil,
        input: Data = Data(), limit: Duration = .seconds(600)
    ) throws -> Result {
        let process = try Subprocess(
            executable, arguments, directory: directory, environment: environment, input: input)
        let semaphore = DispatchSemaphore(value: 0)
        let waiting = process.state.withLock { state in
            if state.finished { return false }
            state.blockingWaiters.append(semaphore)
            return true
        }
        if waiting, semaphore.wait(timeout: .now() + limit.timeInterval) == .timedOut {
            process.stopEverything()
            _ = semaphore.wait(timeout: .now() + 10)
            throw process.overstayed(limit)
        }
        return try process.result()
    }

    /// Whether the program has not exited yet.
    package var isRunning: Bool { state.withLock { $0.waitStatus == nil } }

    /// The exit status, or the number of the signal that ended the program (as Foundation's `Process` has it).
    package var terminationStatus: Int32 {
        let status = state.withLock { $0.waitStatus } ?? -1
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// What the program has printed so far.
    package var output: String { state.withLock { String(decoding: $0.output, as: UTF8.self) } }
    package var error: String { state.withLock { String(decoding: $0.error, as: UTF8.self) } }

    /// Sends SIGTERM, unless the program has already exited (its process id may then be another's).
    package func terminate() { signal(SIGTERM) }
    /// Sends SIGINT, as Ctrl-C does.
    package func interrupt() { signal(SIGINT) }

    private func signal(_ number: Int32) {
        if isRunning { _ = Glibc.kill(processIdentifier, number) }
    }

    /// Waits until the program has exited and its output has been read.
    package func waitUntilExit() async {
        _ = await wait(limit: nil)
    }

    /// Waits, up to `limit`, until the program has exited and its output has been read; what it printed. At the
    /// limit, the program and everything it started are killed and the test fails with what it had printed.
    package func finish(within limit: Duration = .seconds(600)) async throws -> Result {
        if await !wait(limit: limit) {
            stopEverything()
            _ = await wait(limit: .seconds(10))
            throw overstayed(limit)
        }
        return try result()
    }

    private func result() throws -> Result {
        let (output, error, finishedAt) = state.withLock {
            (String(decoding: $0.output, as: UTF8.self), String(decoding: $0.error, as: UTF8.self), $0.finishedAt)
        }
        return Result(
            status: terminationStatus, output: output, error: error, duration: (finishedAt ?? .now) - startedAt)
    }

    /// The failure of a program that overstayed, with the end of what it printed (a few thousand characters of each
    /// stream: enough to see where it stood, where all of it could flood the test's output).
    private func overstayed(_ limit: Duration) -> Failure {
        Failure(
            description: "\(command) was still running after \(limit) and was killed. It had printed: "
                + "\(output.suffix(4000))\n\(error.suffix(4000))")
    }

    private func stopEverything() {
        _ = Glibc.kill(-processIdentifier, SIGKILL)
        _ = Glibc.kill(processIdentifier, SIGKILL)
    }

    /// `true` once the program has exited and its output has been read; `false` if `limit` passed first.
    private func wait(limit: Duration?) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let ticket: Int? = state.withLock { state in
                if state.finished { return nil }
                let ticket = state.nextWaiter
                state.nextWaiter += 1
                state.waiters[ticket] = continuation
                return ticket
            }
            guard let ticket else { return continuation.resume(returning: true) }
            if let limit {
                // Weakly: a program long finished is not kept, with its output, until the limit.
                DispatchQueue.global().asyncAfter(deadline: .now() + limit.timeInterval) { [weak self] in
                    self?.state.withLock { $0.waiters.removeValue(forKey: ticket) }?.resume(returning: false)
                }
            }
        }
    }

    private func reap() {
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(processIdentifier, &status, 0) } while result == -1 && errno == EINTR
        // Nothing else reaps this child; if something did (ECHILD), the program has ended all the same.
        state.withLock { $0.waitStatus = result == processIdentifier ? status : -1 }
        var byte: UInt8 = 1
        _ = Glibc.write(exited.write, &byte, 1)
    }

    /// Reads standard output and error to their ends while writing `bytes` to standard input. After the program has
    /// exited, what it started may still hold them open: its output is read for five more seconds at most.
    private func read(output: Int32, error: Int32, input: Int32, bytes: Data) {
        // A program that exits without reading all its input: the write fails with EPIPE, and the SIGPIPE it
        // raises stays pending on this thread instead of stopping the test process.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        var output = output
        var error = error
        var input = input
        var written = 0
        if bytes.isEmpty {
            close(input)
            input = -1
        }
        var gaveUpAt: ContinuousClock.Instant?
        var buffer = [UInt8](repeating: 0, count: 65536)
        while output >= 0 || error >= 0 || gaveUpAt == nil {
            var polled = [pollfd(fd: exited.read, events: Int16(POLLIN), revents: 0)]
            for descriptor in [output, error] where descriptor >= 0 {
                polled.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
            }
            if input >= 0 { polled.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            var timeout: Int32 = -1
            if let gaveUpAt {
                let left = gaveUpAt - .now
                if left <= .zero { break }
                timeout = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            }
            if poll(&polled, nfds_t(polled.count), timeout) < 0 {
                if errno == EINTR { continue }
                break
            }
            for entry in polled where entry.revents != 0 {
                if entry.fd == exited.read {
                    var byte: UInt8 = 0
                    _ = Glibc.read(exited.read, &byte, 1)
                    gaveUpAt = .now + .seconds(5)
                } else if entry.fd == input {
                    let count = bytes.withUnsafeBytes { raw in
                        Glibc.write(input, raw.baseAddress! + written, raw.count - written)
                    }
                    if count > 0 { written += count }
                    if count < 0 && errno != EAGAIN && errno != EINTR || written == bytes.count {
                        close(input)
                        input = -1
                    }
                } else {
                    let count = Glibc.read(entry.fd, &buffer, buffer.count)
                    if count > 0 {
                        let isOutput = entry.fd == output
                        state.withLock {
                            if isOutput {
                                $0.output += buffer[..<count]
                            } else {
                                $0.error += buffer[..<count]
                            }
                        }
                    } else if count == 0 || errno != EINTR && errno != EAGAIN {
                        close(entry.fd)
                        if entry.fd == output { output = -1 } else { error = -1 }
                    }
                }
            }
        }
        for descriptor in [output, error, input] where descriptor >= 0 { close(descriptor) }
        let (waiters, blocking) = state.withLock { state in
            state.finished = true
            state.finishedAt = .now
            defer {
                state.waiters = [:]
                state.blockingWaiters = []
            }
            return (Array(state.waiters.values), state.blockingWaiters)
        }
        waiters.forEach { $0.resume(returning: true) }
        blocking.forEach { $0.signal() }
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [-1, -1]
        guard pipe2(&descriptors, O_CLOEXEC) == 0 else {
            throw Failure(description: "no pipe for a subprocess: \(String(cString: strerror(errno)))")
        }
        return (descriptors[0], descriptors[1])
    }
}

extension Duration {
    fileprivate var timeInterval: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
