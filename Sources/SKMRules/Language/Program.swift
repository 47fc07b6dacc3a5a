import Foundation
import Synchronization

/// The values an expression is evaluated against: one per schema variable, plus names the schema does not declare
/// (for unchecked expressions).
///
/// A variable may be deferred: given as a function that makes its value on the first read and keeps it, for facts
/// that cost more than most rules need (the audit-event list). Reading it gives the same value as if it had been
/// given outright.
package struct Activation: Sendable {
    /// The values and how to make the deferred ones, in one object: one reference for a ``View`` to point at.
    private var parts: Parts
    /// Told when an evaluation reads a per-request field (``ObjectType/Field/perRequest``), when given.
    package var reads: ReadLog?

    fileprivate final class Parts: Sendable {
        let stored: [Value]
        let named: [String: Value]
        let deferred: Deferred?
        /// Bit `i` set: variable `i` may be deferred (every bit from 63 up shares bit 63). Most reads test this alone.
        let deferredMask: UInt64

        init(stored: [Value], named: [String: Value], deferred: Deferred?) {
            self.stored = stored
            self.named = named
            self.deferred = deferred
            var mask: UInt64 = 0
            if let deferred {
                for index in deferred.makers.indices where deferred.makers[index] != nil { mask |= bit(index) }
            }
            deferredMask = mask
        }
    }

    /// Values by variable name; a declared variable without a value is unknown.
    package init(
        schema: FactSchema, values: [String: Value], deferred makers: [String: @Sendable () -> Value] = [:]
    ) {
        let stored = schema.variables.map { variable in
            values[variable.name] ?? .unknown(Unknown(path: variable.name, settle: "provide \(variable.name)"))
        }
        var named: [String: Value] = [:]
        for (name, value) in values where schema.index(ofVariable: name) == nil { named[name] = value }
        var byIndex: [(@Sendable () -> Value)?] = Array(repeating: nil, count: stored.count)
        for (name, make) in makers {
            if let index = schema.index(ofVariable: name) { byIndex[index] = make }
        }
        parts = Parts(stored: stored, named: named, deferred: makers.isEmpty ? nil : Deferred(byIndex))
    }

    package init(values: [Value], named: [String: Value] = [:]) {
        parts = Parts(stored: values, named: named, deferred: nil)
    }

    /// The activation read without holding it, as an evaluation frame keeps it: valid only while the activation it
    /// was made from lives (``Frame/with(_:cache:recording:strict:_:)`` sees to that). A frame copies it at no cost,
    /// where copying the activation would count two references up and down again for every evaluation.
    struct View {
        // Unmanaged, not unowned(unsafe): reading an unowned(unsafe) reference would count it up for the use.
        fileprivate let parts: Unmanaged<Parts>
        private let log: Unmanaged<ReadLog>?

        fileprivate init(parts: Parts, reads: ReadLog?) {
            self.parts = .passUnretained(parts)
            log = reads.map(Unmanaged.passUnretained)
        }

        /// Told when an evaluation reads a per-request field, when given.
        var reads: Reads? { log.map(Reads.init) }

        /// The activation's ``ReadLog``, read without holding it.
        struct Reads {
            fileprivate let log: Unmanaged<ReadLog>

            func notePerRequest() {
                log._withUnsafeGuaranteedRef { $0.notePerRequest() }
            }
        }

        /// Values of names the schema does not declare.
        var named: [String: Value] { parts._withUnsafeGuaranteedRef { $0.named } }

        /// The variable at `index` in the schema, made now if it was deferred.
        @inline(__always)
        func value(_ index: Int) -> Value {
            parts._withUnsafeGuaranteedRef { parts in
                if parts.deferredMask & bit(index) != 0, let deferred = parts.deferred,
                    let made = deferred.value(index, reads: log?.takeUnretainedValue())
                {
                    return made
                }
                return parts.stored[index]
            }
        }

        /// Field `position` of variable `index` when that is an object of the type `type` and is not deferred, read in
        /// place: `.some(nil)` when the field has no value, `nil` when the variable is something else.
        @inline(__always)
        func field(of index: Int, type: ObjectIdentifier, at position: Int) -> Value?? {
            parts._withUnsafeGuaranteedRef { parts in
                guard parts.deferredMask & bit(index) == 0, case .object(let object) = parts.stored[index],
                    ObjectIdentifier(object.type) == type
                else { return nil }
                return .some(object.fields[position])
            }
        }

        /// Variable `index`, when that is an object of the type `type` and is not deferred, without holding it: the
        /// activation holds it for as long as the frame lives.
        @inline(__always)
        func object(of index: Int, type: ObjectIdentifier) -> Unmanaged<ObjectValue>? {
            parts._withUnsafeGuaranteedRef { parts in
                guard parts.deferredMask & bit(index) == 0, case .object(let object) = parts.stored[index],
                    ObjectIdentifier(object.type) == type
                else { return nil }
                return .passUnretained(object)
            }
        }

        /// The value at the end of a chain of fields from variable `index` (`request.client.ip`): at each hop an object
        /// of the type `types` names, and its field at `positions`. Read in place, without copying the objects on the
        /// way, when every object has its type and every field a value; `nil` otherwise.
        @inline(__always)
        func path(of index: Int, types: [ObjectIdentifier], positions: [Int]) -> Value? {
            parts._withUnsafeGuaranteedRef { parts in
                object(in: parts, of: index, types: types, positions: positions, hops: positions.count - 1)?
                    ._withUnsafeGuaranteedRef { $0.fields[positions[positions.count - 1]] }
            }
        }

        /// `has()` of field `field` of the object at the end of a chain of fields from variable `index`: `types` names
        /// the type of every object on the way, the variable's first, and `positions` the field each hop reads. Read in
        /// place, without copying the objects on the way: `false` when the field has no value, its unknown when it is
        /// one, else `true`. `nil` when an object on the way is missing or of another type, or the variable is
        /// deferred: the caller reads the chain as usual.
        @inline(__always)
        func presence(of index: Int, types: [ObjectIdentifier], positions: [Int], field: Int) -> Value? {
            parts._withUnsafeGuaranteedRef { parts in
                object(in: parts, of: index, types: types, positions: positions, hops: positions.count)?
                    ._withUnsafeGuaranteedRef { object in
                        switch object.fields[field] {
                        case nil: return .bool(false)
                        case .unknown(let unknown)?: return .unknown(unknown)
                        default: return .bool(true)
                        }
                    }
            }
        }

        /// ``presence(of:types:positions:field:)`` as a ``Truth``: `.other` for a field that is unknown.
        @inline(__always)
        func presenceTruth(of index: Int, types: [ObjectIdentifier], positions: [Int], field: Int) -> Truth? {
            parts._withUnsafeGuaranteedRef { parts in
                object(in: parts, of: index, types: types, positions: positions, hops: positions.count)?
                    ._withUnsafeGuaranteedRef { object in
                        switch object.fields[field] {
                        case nil: return .no
                        case .unknown?: return .other
                        default: return .yes
                        }
                    }
            }
        }

        /// ``presenceTruth(of:types:positions:field:)`` of a field of variable `index` itself, an object of the type
        /// `type`.
        @inline(__always)
        func presenceTruth(of index: Int, type: ObjectIdentifier, field: Int) -> Truth? {
            object(of: index, type: type)?._withUnsafeGuaranteedRef { object in
                switch object.fields[field] {
                case nil: return .no
                case .unknown?: return .other
                default: return .yes
                }
            }
        }

        /// ``truth(of:types:positions:)`` of field `position` of variable `index` itself, an object of the type `type`.
        @inline(__always)
        func truth(of index: Int, type: ObjectIdentifier, at position: Int) -> Truth? {
            object(of: index, type: type)?._withUnsafeGuaranteedRef { object in
                switch object.fields[position] {
                case nil: return nil
                case .bool(let flag)?: return Truth(flag)
                default: return .other
                }
            }
        }

        /// `body` of the field at the end of a chain of fields from variable `index` (``path(of:types:positions:)``),
        /// read in place (`nil` when it has no value); `nil` when an object on the way is missing or of another type,
        /// or the variable is deferred.
        @inline(__always)
        func field<Result>(
            of index: Int, types: [ObjectIdentifier], positions: [Int], _ body: (Value?) -> Result?
        ) -> Result? {
            parts._withUnsafeGuaranteedRef { parts in
                object(in: parts, of: index, types: types, positions: positions, hops: positions.count - 1)?
                    ._withUnsafeGuaranteedRef { body($0.fields[positions[positions.count - 1]]) }
            }
        }

        /// The truth of the field at the end of a chain of fields from variable `index` (``path(of:types:positions:)``),
        /// read in place: `.other` when it is not a bool; `nil` when an object on the way is missing or of another type,
        /// the variable is deferred, or the field has no value (whose reading depends on the frame).
        @inline(__always)
        func truth(of index: Int, types: [ObjectIdentifier], positions: [Int]) -> Truth? {
            parts._withUnsafeGuaranteedRef { parts in
                object(in: parts, of: index, types: types, positions: positions, hops: positions.count - 1)?
                    ._withUnsafeGuaranteedRef { object in
                        switch object.fields[positions[positions.count - 1]] {
                        case nil: return nil
                        case .bool(let flag)?: return Truth(flag)
                        default: return .other
                        }
                    }
            }
        }

        /// The object holding the field at the end of a chain of fields from variable `index`
        /// (``path(of:types:positions:)``), without holding it; `nil` when an object on the way is missing or of
        /// another type, or the variable is deferred.
        @inline(__always)
        func holder(of index: Int, types: [ObjectIdentifier], positions: [Int]) -> Unmanaged<ObjectValue>? {
            parts._withUnsafeGuaranteedRef { parts in
                object(in: parts, of: index, types: types, positions: positions, hops: positions.count - 1)
            }
        }

        /// The object variable `index` reaches after the first `hops` of `positions`, each object on the way of the
        /// type `types` names (the variable's first); `nil` when one is missing or of another type, or the variable
        /// is deferred. Not counted: the activation holds every object on the way.
        @inline(__always)
        private func object(
            in parts: Parts, of index: Int, types: [ObjectIdentifier], positions: [Int], hops: Int
        ) -> Unmanaged<ObjectValue>? {
            guard parts.deferredMask & bit(index) == 0, case .object(let root) = parts.stored[index],
                ObjectIdentifier(root.type) == types[0]
            else { return nil }
            var current = Unmanaged.passUnretained(root)
            for hop in 0..<hops {
                let next: Unmanaged<ObjectValue>? = current._withUnsafeGuaranteedRef { object in
                    guard case .object(let child)? = object.fields[positions[hop]],
                        ObjectIdentifier(child.type) == types[hop + 1]
                    else { return nil }
                    return .passUnretained(child)
                }
                guard let next else { return nil }
                current = next
            }
            return current
        }
    }

    /// The activation as a frame reads it (``View``); the activation must outlive every use of it. Only
    /// ``Frame/with(_:cache:recording:strict:_:)`` makes one.
    fileprivate var view: View { View(parts: parts, reads: reads) }

    /// Values of names the schema does not declare.
    package var named: [String: Value] { parts.named }

    /// The variable at `index` in the schema, made now if it was deferred.
    @inline(__always)
    package func value(_ index: Int) -> Value { view.value(index) }

    /// Every variable's value, in schema order (deferred ones made).
    package var values: [Value] { parts.stored.indices.map(value) }

    /// Sets a variable by its index in the schema; it is no longer deferred.
    package mutating func set(_ index: Int, _ value: Value) {
        var stored = parts.stored
        stored[index] = value
        let deferred = parts.deferred.map { $0.defers(index) ? $0.without(index) : $0 }
        parts = Parts(stored: stored, named: parts.named, deferred: deferred)
    }

    /// The deferred variables' makers and what they made, shared by the copies of one activation.
    fileprivate final class Deferred: Sendable {
        let makers: [(@Sendable () -> Value)?]
        let made: Mutex<[Int: Value]> = Mutex([:])

        init(_ makers: [(@Sendable () -> Value)?]) {
            self.makers = makers
        }

        func defers(_ index: Int) -> Bool { index < makers.count && makers[index] != nil }

        func value(_ index: Int, reads: ReadLog?) -> Value? {
            guard index < makers.count, let make = makers[index] else { return nil }
            if let value = made.withLock({ $0[index] }) { return value }
            reads?.noteDeferred()
            let value = make()
            made.withLock { $0[index] = value }
            return value
        }

        func without(_ index: Int) -> Deferred {
            var makers = makers
            makers[index] = nil
            return Deferred(makers)
        }
    }
}

/// Bit `index` of a mask of variables (every index from 63 up shares bit 63).
@inline(__always)
private func bit(_ index: Int) -> UInt64 { 1 << UInt64(min(index, 63)) }

/// Whether evaluations on an activation read a value that is the request's alone (``ObjectType/Field/perRequest``):
/// its time, its id. What was concluded without reading one holds for every request with the same other facts.
package final class ReadLog: Sendable {
    private let perRequest = Atomic<Bool>(false)
    private let deferred = Atomic<Bool>(false)

    package init() {}

    /// Whether a per-request field was read.
    package var readPerRequest: Bool { perRequest.load(ordering: .relaxed) }
    /// Whether a deferred variable was read (made): a fact that costs more than most rules need.
    package var readDeferred: Bool { deferred.load(ordering: .relaxed) }

    func notePerRequest() {
        perRequest.store(true, ordering: .relaxed)
    }

    func noteDeferred() {
        deferred.store(true, ordering: .relaxed)
    }
}

/// The value of one sub-expression, recorded while a check ran: the evidence a finding shows.
package struct Evidence: Sendable {
    /// The sub-expression's source text.
    package var expression: String
    package var value: Value
}

/// The values of definitions already computed for one activation, so that a definition many checks use runs once
/// per request. Valid for one activation and one rule set only; not shared between threads.
///
/// A definition has two readings: the ordinary one, where a field without a value reads as its type's default, and
/// the strict one templates use, where it is an error. The two differ only when the evaluation read such a field,
/// so a value that read none serves both, and the strict reading is computed apart only for the others.
package final class DefinitionCache {
    // Only ever touched by one evaluation at a time (the cache is not shared between threads), so the dynamic
    // exclusivity check is pure cost here.
    /// One block, made when the first value is kept, with room for every definition: per definition where its
    /// ordinary value is in ``values`` plus one, negated when computing it read a field without a value, 0 while it
    /// has not been computed (plain integers, made and freed without visiting them); then the values, in the order
    /// they were computed. One allocation for a request's definitions, where arrays would make one each.
    @exclusivity(unchecked) private var block: UnsafeMutableRawPointer?
    @exclusivity(unchecked) private var positions: UnsafeMutablePointer<Int32>?
    @exclusivity(unchecked) private var values: UnsafeMutablePointer<Value>?
    /// How many definitions ``positions`` covers, how many values ``values`` has room for, and how many it holds.
    @exclusivity(unchecked) private var definitions = 0
    @exclusivity(unchecked) private var capacity = 0
    @exclusivity(unchecked) private var count = 0
    /// Whether ``values`` lies apart from ``block``, moved there when strict values outgrew the room beside it.
    @exclusivity(unchecked) private var valuesApart = false
    /// Per definition, where its strict value is in ``values`` plus one, for definitions whose ordinary value read a
    /// field without a value; 0 otherwise. Rare: an array of its own.
    @exclusivity(unchecked) private var strictPositions: [Int32] = []
    /// The request's tags (``RuleSet/Configuration/tags``), once a call has read them.
    @exclusivity(unchecked) var tags: [String]?

    package init() {}

    deinit {
        values?.deinitialize(count: count)
        if valuesApart { values?.deallocate() }
        free(block)
    }

    /// Where the value of definition `index` in the reading `strict` says is kept, if it is known on this
    /// activation: 0 when it is not; negative when computing it read a field without a value. A strict reading is
    /// the ordinary value when that read none. Read with ``value(at:)``: the value is copied once, straight out of
    /// the table, where returning it with its flag would copy it through a pair.
    @inline(__always)
    func slot(of index: Int, strict: Bool) -> Int32 {
        if index < definitions, let positions {
            let position = positions[index]
            if position > 0 || (position < 0 && !strict) { return position }
        }
        guard strict, index < strictPositions.count else { return 0 }
        return -strictPositions[index]
    }

    /// The value kept at `slot` (``slot(of:strict:)``, not 0).
    @inline(__always)
    func value(at slot: Int32) -> Value {
        values![Int(slot.magnitude) - 1]
    }

    /// The truth of the value kept at `slot` (``slot(of:strict:)``, not 0), read where it lies.
    @inline(__always)
    func truth(at slot: Int32) -> Truth {
        if case .bool(let flag) = values![Int(slot.magnitude) - 1] { return Truth(flag) }
        return .other
    }

    /// Whether the list kept at `slot` (``slot(of:strict:)``, not 0) is empty, read where it lies: `.other` when the
    /// value is not a list.
    @inline(__always)
    func emptiness(at slot: Int32) -> Truth {
        if case .list(let items) = values![Int(slot.magnitude) - 1] { return Truth(items.isEmpty) }
        return .other
    }

    /// Keeps a value of definition `index` computed in the reading `strict` says; `readAbsent`: whether computing it
    /// read a field without a value. `total` is how many definitions there are.
    func keep(_ value: Value, strict: Bool, readAbsent: Bool, at index: Int, of total: Int) {
        if positions == nil {
            makeBlock(for: max(index + 1, total))
        } else if index >= definitions {
            // A program compiled before later definitions were added counts fewer of them. Doubled at least, so
            // that a chain of such programs reallocates a few times, not once per definition.
            grow(to: max(index + 1, total, 2 * definitions))
        }
        if count == capacity { moveValuesApart() }
        (values! + count).initialize(to: value)
        count += 1
        let position = Int32(count)
        if !readAbsent {
            // Both readings agree.
            positions![index] = position
        } else if !strict {
            positions![index] = -position
        } else {
            if strictPositions.count <= index {
                strictPositions.append(
                    contentsOf: repeatElement(0, count: max(index + 1, definitions) - strictPositions.count))
            }
            strictPositions[index] = position
        }
    }

    /// The block for `total` definitions: their positions, then room for one value each.
    private func makeBlock(for total: Int) {
        let valuesOffset =
            (total * MemoryLayout<Int32>.stride + MemoryLayout<Value>.alignment - 1)
            & ~(MemoryLayout<Value>.alignment - 1)
        // From malloc itself (its blocks are aligned for any value): the standard allocator takes the aligned path
        // for any block it is not told the alignment of, which costs about twice as much.
        guard let block = malloc(valuesOffset + total * MemoryLayout<Value>.stride) else { fatalError("out of memory") }
        let positions = block.bindMemory(to: Int32.self, capacity: total)
        positions.initialize(repeating: 0, count: total)
        self.block = block
        self.positions = positions
        values = (block + valuesOffset).bindMemory(to: Value.self, capacity: total)
        definitions = total
        capacity = total
    }

    /// A block for `total` definitions, more than the present one has: the positions copied, the values moved.
    private func grow(to total: Int) {
        let (oldBlock, oldPositions, oldDefinitions) = (block, positions!, definitions)
        let (oldValues, oldCapacity, wereApart) = (values!, capacity, valuesApart)
        makeBlock(for: total)
        positions!.update(from: oldPositions, count: oldDefinitions)
        if count <= capacity {
            values!.moveInitialize(from: oldValues, count: count)
            if wereApart { oldValues.deallocate() }
            valuesApart = false
        } else {
            // More values than the new block has room for: they stay where they are.
            (values, capacity, valuesApart) = (oldValues, oldCapacity, true)
        }
        free(oldBlock)
    }

    /// Room for more values than one per definition (strict readings beside ordinary ones), apart from the block.
    private func moveValuesApart() {
        let moved = UnsafeMutablePointer<Value>.allocate(capacity: capacity * 2)
        moved.moveInitialize(from: values!, count: count)
        if valuesApart { values!.deallocate() }
        values = moved
        valuesApart = true
        capacity *= 2
    }
}

/// Mutable evaluation state, threaded through the compiled closures. Made only by ``with(_:cache:recording:strict:_:)``,
/// which keeps the activation and the cache alive for as long as the frame is used: the frame reads them without
/// holding them.
struct Frame {
    let activation: Activation.View
    /// The definition cache, read without holding it.
    let cache: Unmanaged<DefinitionCache>?
    /// The comprehension variables in scope, innermost last: a definition's own start at `localsBase`, so that it
    /// runs without moving the variables of the expression that read it.
    var locals: [Value] = []
    var localsBase = 0
    var recording: Bool
    var evidence: [Evidence] = []
    var comprehensionDepth = 0
    /// Reading a field that has no value is an error naming the field, instead of the field type's default: how
    /// explanation templates are rendered, so that "Key  is ;" never reaches a report.
    var strict = false
    /// Whether the evaluation read a field that has no value: only then can the strict reading differ.
    var readAbsent = false

    private init(activation: Activation.View, cache: DefinitionCache?, recording: Bool, strict: Bool) {
        self.activation = activation
        self.cache = cache.map(Unmanaged.passUnretained)
        self.recording = recording
        self.strict = strict
    }

    /// `body` run as a definition runs: with comprehension variables of its own and recording nothing. Returns what
    /// it gives and whether it read a field without a value, which is also added to the frame's.
    @inline(__always)
    mutating func asDefinition<Result>(_ body: (inout Frame) -> Result) -> (Result, readAbsent: Bool) {
        let savedBase = localsBase
        let savedReadAbsent = readAbsent
        localsBase = locals.count
        readAbsent = false
        comprehensionDepth += 1
        let result = body(&self)
        comprehensionDepth -= 1
        localsBase = savedBase
        let absent = readAbsent
        readAbsent = savedReadAbsent || absent
        return (result, absent)
    }

    /// `body` with a comprehension variable of its own, given its slot in ``locals``, which `body` fills with each
    /// element in turn.
    @inline(__always)
    mutating func withComprehensionVariable<Result>(_ body: (inout Frame, Int) -> Result) -> Result {
        comprehensionDepth += 1
        // Room for nested comprehensions at once; the frame keeps it for the rest of its evaluations.
        if locals.capacity == 0 { locals.reserveCapacity(4) }
        locals.append(.null)
        defer {
            locals.removeLast()
            comprehensionDepth -= 1
        }
        return body(&self, locals.count - 1)
    }

    /// `body` of the text comprehension variable `local` holds, read where it lies; `nil` when it holds another
    /// kind of value.
    @inline(__always)
    func withLocalString<Result>(_ local: Int, _ body: (String) -> Result) -> Result? {
        let slot = localsBase + local
        return locals.withUnsafeBufferPointer { locals -> Result? in
            // Checked as the array's own subscript would be: the buffer's is not, in a release build.
            precondition(locals.indices.contains(slot), "comprehension variable \(slot) out of range")
            guard case .string(let text) = locals[slot] else { return nil }
            return body(text)
        }
    }

    /// Runs `body` with a frame on `activation` and `cache`, both kept alive until it returns. The frame must not
    /// outlive `body`.
    static func with<Result>(
        _ activation: Activation, cache: DefinitionCache?, recording: Bool = false, strict: Bool = false,
        _ body: (inout Frame) -> Result
    ) -> Result {
        withExtendedLifetime(activation) {
            withExtendedLifetime(cache) {
                var frame = Frame(activation: activation.view, cache: cache, recording: recording, strict: strict)
                return body(&frame)
            }
        }
    }
}

typealias Evaluator = @Sendable (inout Frame) -> Value

/// A compiled expression: parsed, type-checked against a schema, and turned into closures.
package final class Program: Sendable {
    package let source: Source
    package let expression: Expression
    /// The result type; `nil` for unchecked programs.
    package let resultType: CELType?
    let evaluator: Evaluator
    let recordingEvaluator: Evaluator
    /// The expression's ``Truth``, for conditions read without evidence.
    let tester: Tester
    /// The type of each node, by id (empty for unchecked programs): what testers made later read the facts by
    /// (``testing(assuming:schema:definitions:)``).
    let types: [Int: CELType]
    /// How many values ``recordingEvaluator`` records in one evaluation at most: each node that records runs at most
    /// once outside comprehension bodies, and none records inside them or inside a definition.
    let evidenceCapacity: Int

    init(
        source: Source, expression: Expression, resultType: CELType?, evaluator: @escaping Evaluator,
        recordingEvaluator: @escaping Evaluator, tester: @escaping Tester, evidenceCapacity: Int,
        types: [Int: CELType]
    ) {
        self.types = types
        self.source = source
        self.expression = expression
        self.resultType = resultType
        self.evaluator = evaluator
        self.recordingEvaluator = recordingEvaluator
        self.tester = tester
        self.evidenceCapacity = evidenceCapacity
    }

    /// The expression's value. `cache`, when given, keeps the definitions' values for further evaluations on the
    /// same activation.
    package func evaluate(_ activation: Activation, cache: DefinitionCache? = nil) -> Value {
        Frame.with(activation, cache: cache) { evaluator(&$0) }
    }

    /// The value, with every read of an absent field an error that names it (``EvaluationError/absentField``).
    /// `cache`, when given, is the activation's: definitions computed before in either reading serve when they read
    /// the same.
    package func evaluateStrictly(_ activation: Activation, cache: DefinitionCache = DefinitionCache()) -> Value {
        Frame.with(activation, cache: cache, strict: true) { evaluator(&$0) }
    }

    /// The value, in a frame kept across evaluations on one activation (no evidence): saves setting one up per
    /// expression when a rule set runs many on the same request.
    func evaluate(in frame: inout Frame) -> Value {
        evaluator(&frame)
    }

    /// The program with a tester made under `assumption`: the same expression and evaluators, the tests of the
    /// discriminating fact read as the constants they are under it; with the expression's truth when the assumption
    /// alone decides it. `nil` when the assumption decides no part of it: the program's own tester serves.
    package func testing(
        assuming assumption: Assumption, schema: FactSchema, definitions: Definitions
    ) -> (program: Program, decided: Bool?)? {
        var generator = Generator(
            schema: schema, definitions: definitions, types: types, source: source, checked: resultType != nil,
            recording: false)
        generator.assumption = assumption
        // Most programs read nothing the assumption decides: no tester is made for them.
        guard generator.mayDecide(expression) else { return nil }
        let decided = generator.decided(expression, scope: [])
        let tester = generator.generateTruth(expression, scope: [])
        guard generator.decidedNodes > 0 else { return nil }
        let program = Program(
            source: source, expression: expression, resultType: resultType, evaluator: evaluator,
            recordingEvaluator: recordingEvaluator, tester: tester, evidenceCapacity: evidenceCapacity, types: types)
        return (program, decided)
    }

    /// Whether the expression is true or false, in a frame kept across evaluations on one activation (no evidence):
    /// `.other` when it is neither, and ``evaluate(in:)`` tells what it is.
    func truth(in frame: inout Frame) -> Truth {
        tester(&frame)
    }

    /// Whether the expression is true or false (read as a condition is, without evidence); `nil` when it is neither,
    /// and ``evaluate(_:cache:)`` tells what it is.
    package func truth(_ activation: Activation, cache: DefinitionCache? = nil) -> Bool? {
        switch Frame.with(activation, cache: cache, { tester(&$0) }) {
        case .yes: true
        case .no: false
        case .other: nil
        }
    }

    /// The value with its evidence, in a frame kept across evaluations on one activation.
    func evaluateWithEvidence(in frame: inout Frame) -> (Value, [Evidence]) {
        frame.evidence.reserveCapacity(evidenceCapacity)
        let (value, _) = evaluateRecording(in: &frame)
        // Moved out, not copied: the next evaluation starts on an empty list, without a copy of this one to make.
        var evidence: [Evidence] = []
        swap(&evidence, &frame.evidence)
        return (value, evidence)
    }

    /// The value, with its evidence appended to the frame's (``Frame/evidence``): where it lies there. Evaluations
    /// that share one list (the checks of a rule) share one allocation, where a list each would make and free one
    /// per check.
    func evaluateRecording(in frame: inout Frame) -> (Value, Range<Int>) {
        let start = frame.evidence.count
        frame.recording = true
        let value = recordingEvaluator(&frame)
        frame.recording = false
        return (value, start..<frame.evidence.count)
    }

    /// The value, with the values of the sub-expressions it read.
    package func evaluateWithEvidence(_ activation: Activation, cache: DefinitionCache? = nil) -> (Value, [Evidence]) {
        Frame.with(activation, cache: cache, recording: true) { frame in
            frame.evidence.reserveCapacity(evidenceCapacity)
            let value = recordingEvaluator(&frame)
            return (value, frame.evidence)
        }
    }
}

/// Named expressions that other expressions refer to by name (`anyFactorPasses`), compiled once.
package struct Definitions: Sendable {
    package struct Definition: Sendable {
        package var name: String
        package var type: CELType
        package var program: Program
        package var documentation: String
    }

    package private(set) var items: [Definition] = []

    package init() {}

    package func definition(_ name: String) -> Definition? {
        items.first { $0.name == name }
    }

    func index(of name: String) -> Int? {
        items.firstIndex { $0.name == name }
    }

    /// Compiles `source` as definition `name`; it may refer to the definitions before it.
    package mutating func add(
        name: String, source: Source, schema: FactSchema, documentation: String = ""
    )
        -> Result<Void, Diagnostics>
    {
        switch Compiler.compile(source, schema: schema, definitions: self) {
        case .success(let program):
            items.append(
                Definition(
                    name: name, type: program.resultType ?? .null, program: program, documentation: documentation))
            return .success(())
        case .failure(let diagnostics):
            return .failure(diagnostics)
        }
    }
}

/// Turns source into a ``Program``.
package enum Compiler {
    /// The deepest expression tree accepted (a chain of 300 `||` is that deep).
    package static let maximumDepth = 300

    /// Parses, checks (unless `checked` is false) and compiles `source` against `schema`. When `expecting` is given
    /// the result must have that type (a check's assertion must be a bool).
    package static func compile(
        _ source: Source, schema: FactSchema, definitions: Definitions = Definitions(), checked: Bool = true,
        expecting: CELType? = nil
    ) -> Result<Program, Diagnostics> {
        let expression: Expression
        switch Parser.parse(source) {
        case .success(let parsed): expression = parsed
        case .failure(let diagnostic): return .failure(Diagnostics([diagnostic]))
        }
        if expression.depth > Self.maximumDepth {
            return .failure(
                Diagnostics([
                    Diagnostic(
                        "expression nested deeper than \(Self.maximumDepth) levels", at: expression.span,
                        in: source)
                ]))
        }
        var types: [Int: CELType] = [:]
        var resultType: CELType?
        if checked {
            var checker = Checker(schema: schema, definitions: definitions)
            let type = checker.check(expression)
            if !checker.problems.isEmpty {
                return .failure(Diagnostics(checker.problems.map { Diagnostic($0.message, at: $0.span, in: source) }))
            }
            if let expecting {
                var unifier = Checker(schema: schema, definitions: definitions)
                if !unifier.unify(type, expecting) {
                    return .failure(
                        Diagnostics([
                            Diagnostic(
                                "expected a \(expecting), but the expression is a \(type)", at: expression.span,
                                in: source)
                        ]))
                }
            }
            types = checker.types
            resultType = type
        }
        var generator = Generator(
            schema: schema, definitions: definitions, types: types, source: source, checked: checked, recording: true)
        let recordingEvaluator = generator.generate(expression, scope: [], record: true)
        if let problem = generator.problems.first {
            return .failure(Diagnostics([Diagnostic(problem.message, at: problem.span, in: source)]))
        }
        var plain = Generator(
            schema: schema, definitions: definitions, types: types, source: source, checked: checked, recording: false)
        let evaluator = plain.generate(expression, scope: [], record: false)
        let tester = plain.generateTruth(expression, scope: [])
        return .success(
            Program(
                source: source, expression: expression, resultType: resultType, evaluator: evaluator,
                recordingEvaluator: recordingEvaluator, tester: tester, evidenceCapacity: generator.recordedNodes,
                types: types))
    }
}
