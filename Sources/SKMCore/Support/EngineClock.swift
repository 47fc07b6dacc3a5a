import Foundation
import Synchronization

/// The source of the current time. Everything that depends on time takes one, so that tests can pin it.
package struct EngineClock: Sendable {
    private let read: @Sendable () -> Date

    package init(_ read: @escaping @Sendable () -> Date) {
        self.read = read
    }

    /// The current time, to the millisecond (the precision storage keeps).
    package var now: Date { read().truncatedToMilliseconds }

    /// The wall clock.
    package static let system = EngineClock { Date() }

    /// A clock that always answers `date`.
    package static func fixed(_ date: Date) -> EngineClock {
        EngineClock { date }
    }
}

extension Date {
    /// This time without its sub-millisecond part.
    package var truncatedToMilliseconds: Date {
        Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    /// Milliseconds since 1970, rounded to the nearest: the form storage and logs keep.
    package var millisecondsSince1970: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }

    package init(millisecondsSince1970 value: Int64) {
        self.init(timeIntervalSince1970: Double(value) / 1000)
    }
}

/// A clock that tests move by hand.
package final class ManualClock: Sendable {
    private let current: Mutex<Date>

    package init(_ start: Date) {
        current = Mutex(start)
    }

    package var now: Date { current.withLock { $0 } }

    package func advance(by interval: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(interval) }
    }

    package func set(_ date: Date) {
        current.withLock { $0 = date }
    }

    /// An ``EngineClock`` that reads this one.
    package var clock: EngineClock {
        EngineClock { [self] in self.now }
    }
}
