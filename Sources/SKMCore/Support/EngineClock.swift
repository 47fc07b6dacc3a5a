import Foundation
import Synchronization

/// The source of the current time. Everything that depends on time takes one, so that tests can pin it.
public struct EngineClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) {
        self.read = read
    }

    /// The current time, to the millisecond (the precision storage keeps).
    public var now: Date { read().truncatedToMilliseconds }

    /// The wall clock.
    public static let system = EngineClock { Date() }

    /// A clock that always answers `date`.
    public static func fixed(_ date: Date) -> EngineClock {
        EngineClock { date }
    }
}

extension Date {
    /// This time without its sub-millisecond part.
    public var truncatedToMilliseconds: Date {
        Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    /// Milliseconds since 1970, rounded to the nearest: the form storage and logs keep.
    public var millisecondsSince1970: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }

    public init(millisecondsSince1970 value: Int64) {
        self.init(timeIntervalSince1970: Double(value) / 1000)
    }
}

/// A clock that tests move by hand.
public final class ManualClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date) {
        current = Mutex(start)
    }

    public var now: Date { current.withLock { $0 } }

    public func advance(by interval: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(interval) }
    }

    public func set(_ date: Date) {
        current.withLock { $0 = date }
    }

    /// An ``EngineClock`` that reads this one.
    public var clock: EngineClock {
        EngineClock { [self] in self.now }
    }
}
