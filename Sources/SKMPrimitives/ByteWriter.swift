/// A byte buffer that grows as it is written, for text made a byte at a time: a request-log line, a JSON answer.
///
/// An `Array` checks that its storage is not shared each time a byte is appended, through a call into the runtime; a
/// log line is a few hundred appends. The writer owns its memory alone (it cannot be copied), so an append is a
/// bounds check and a store. ``finish()`` hands the bytes over as an array.
package struct ByteWriter: ~Copyable {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    @usableFromInline var length = 0

    /// How many bytes have been written.
    package var count: Int { length }

    package init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    @inlinable
    package mutating func append(_ byte: UInt8) {
        if length == capacity { grow(toHold: length + 1) }
        base[length] = byte
        length += 1
    }

    @inlinable
    package mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress, !bytes.isEmpty else { return }
        if length + bytes.count > capacity { grow(toHold: length + bytes.count) }
        (base + length).update(from: start, count: bytes.count)
        length += bytes.count
    }

    /// Appends the UTF-8 of a literal.
    @inlinable
    package mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends the UTF-8 of `text`, as it is: no escape.
    package mutating func append(utf8 text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    /// Appends `value` in decimal, without making a string of it.
    package mutating func append(decimal value: Int) {
        var magnitude = value.magnitude
        var size = value < 0 ? 2 : 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            size += 1
        }
        reserve(size)
        var position = length + size
        repeat {
            position -= 1
            base[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 { base[length] = UInt8(ascii: "-") }
        length += size
    }

    /// Lets `body` write at most `limit` bytes in place; it returns how many it wrote.
    package mutating func write(atMost limit: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        reserve(limit)
        let written = body(UnsafeMutableBufferPointer(start: base + length, count: limit))
        precondition((0...limit).contains(written), "wrote \(written) bytes into room for \(limit)")
        length += written
    }

    /// Makes room for `more` bytes past those written.
    package mutating func reserve(_ more: Int) {
        if length + more > capacity { grow(toHold: length + more) }
    }

    /// The bytes written so far.
    package func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: base, count: length))
    }

    /// The bytes written, as an array.
    package consuming func finish() -> [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: length))
    }

    @usableFromInline
    mutating func grow(toHold minimum: Int) {
        var newCapacity = capacity * 2
        while newCapacity < minimum { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: length)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
