import Foundation

/// Runs jobs on worker threads and hands their outputs back in the order the jobs were submitted, with a bounded
/// number in flight: a reader submits the blocks of a file as it reads them and merges what comes back in order,
/// so the result does not depend on how many workers there are.
///
/// Each worker thread makes its own state once (`makeWorker`), never shared with another thread.
final class OrderedPool<Job: Sendable, Output: Sendable>: @unchecked Sendable {
    // Every stored property below is read and written only with `condition` locked.
    private let condition = NSCondition()
    private var queue: [(index: Int, job: Job)] = []
    private var outputs: [Int: Output] = [:]
    private var submitted = 0
    private var delivered = 0
    private var closed = false
    private var running = 0
    private let limit: Int

    /// `workers` threads (at least one); at most `limit` jobs submitted and not yet delivered.
    init(workers: Int, limit: Int, makeWorker: @escaping @Sendable () -> (Job) -> Output) {
        self.limit = max(1, limit)
        let count = max(1, workers)
        running = count
        for _ in 0..<count {
            let thread = Thread { [self] in self.run(makeWorker()) }
            // Rule expressions nest up to 300 levels: room for their evaluation.
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func run(_ work: (Job) -> Output) {
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            guard !queue.isEmpty else {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let (index, job) = queue.removeFirst()
            condition.unlock()
            let output = work(job)
            condition.lock()
            outputs[index] = output
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Submits `job`, then hands `deliver` every output that is next in order and ready, waiting while the pool is
    /// full.
    func submit(_ job: Job, deliver: (Output) -> Void) {
        condition.lock()
        queue.append((submitted, job))
        submitted += 1
        condition.broadcast()
        condition.unlock()
        drain(whileInFlightAtLeast: limit, deliver)
    }

    /// Waits for every job and hands over the outputs not yet delivered, in order; then the workers stop.
    func finish(deliver: (Output) -> Void) {
        drain(whileInFlightAtLeast: 1, deliver)
        close()
    }

    /// Stops the workers once the jobs already submitted are done, without delivering their outputs (after an
    /// input turned out unreadable half-way).
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func drain(whileInFlightAtLeast bound: Int, _ deliver: (Output) -> Void) {
        while true {
            condition.lock()
            while outputs[delivered] == nil && submitted - delivered >= bound { condition.wait() }
            guard let output = outputs.removeValue(forKey: delivered) else {
                condition.unlock()
                return
            }
            delivered += 1
            condition.unlock()
            deliver(output)
        }
    }
}
