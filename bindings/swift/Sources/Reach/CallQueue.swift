// Where a recording call goes, and the `reach-dispatch` thread that applies queued calls.
//
// A Reach instance is in one phase at a time:
//   pending   before setup (only `Reach.shared`): calls wait in a bounded buffer, oldest
//             dropped first and counted; presenter, claim client and log sink are kept;
//   queued    open, non-strict: the caller stamps the call, appends it under a short lock
//             and returns; `reach-dispatch` converts the properties and crosses the FFI in
//             batches (`applyCalls(calls:)`);
//   direct    open in strict mode (errors must reach the caller's thread), and after
//             close(): every call goes straight to the core, as before the queue existed;
//   disabled  non-strict setup could not open the data directory: everything is refused
//             and counted under "disabled".
//
// Ordering: the dispatcher takes a batch and applies it while holding `applyLock`; a call
// that waits or answers (flush, close, consent, diagnostics, explain, popup reports,
// uploadNow...) first takes the same lock and applies whatever is still queued on its own
// thread, then calls the core. So each thread's calls reach the core in the order it made
// them, and flush() covers everything queued before it.
//
// The queue is guarded by a lock (NSCondition), not lock-free: Swift's atomics
// (Synchronization) need iOS 18, and an uncontended lock costs tens of nanoseconds, well
// inside the budget of `track()` (p50 <= 1 us). Lock order: applyLock, then condition.

import Foundation
import ReachFFI

/// Calls made before `Reach.setup`, kept in order: enough for a cold start's burst
/// (a few dozen calls before the app delegate finishes), small enough (~1,000 small
/// events, tens of KB) that a host which never calls setup loses little memory. The same
/// limit as the Kotlin wrapper's PRE_SETUP_BUFFER_LIMIT.
let preSetupBufferLimit = 1_000

/// Calls per `applyCalls` crossing: large enough that the FFI cost is shared by hundreds
/// of calls, small enough that a flush() waiting behind the dispatcher waits for at most
/// one such batch (a few ms).
let dispatchBatchLimit = 512

/// Queued calls beyond which the caller applies the queue itself instead of appending:
/// bounds the wrapper's memory when the core falls behind (the core's own queue then
/// counts its drops as it always did). Reached only by a host tracking in a tight loop.
let dispatchBackpressureLimit = 10_000

/// How long the dispatcher lingers, awake, for more calls after a batch before it parks:
/// a burst of calls then pays one wake-up instead of one per call.
let dispatchLingerSeconds = 0.002

final class CallQueue: @unchecked Sendable {
    enum Phase {
        case pending
        case opening
        case queued(ReachFFI.Reach)
        case direct(ReachFFI.Reach)
        case disabled
    }

    /// Where a recording call went.
    enum Route {
        case done
        case direct(ReachFFI.Reach)
    }

    /// Where a waiting call should go, the queue drained before it.
    enum Target {
        case core(ReachFFI.Reach)
        case notSetUp
        case disabled
    }

    private let condition = NSCondition()
    private let applyLock = NSLock()
    // Guarded by `condition`:
    private var phase: Phase = .pending
    private var buffer = BoundedBuffer<RecordedCall>(capacity: preSetupBufferLimit)
    private var queue: [RecordedCall] = []
    private var spare: [RecordedCall] = []
    private var parked = false
    private var stopping = false
    private var disabledRefusals: UInt64 = 0
    private var overflowAtSetup: UInt64 = 0
    private var lastConsent: Consent?
    private var keptPresenter: PopupHandler?
    private var keptClaimClient: (any ClaimClient)?
    private var keptScheduler: (any NotificationScheduler)?

    // MARK: The caller's side

    /// Buffers, queues or routes a recording call. Returns the core when the call must
    /// be made directly (strict mode, after close()).
    func submit(_ call: RecordedCall) -> Route {
        condition.lock()
        switch phase {
        case .queued(let core):
            queue.append(call)
            if queue.count >= dispatchBackpressureLimit {
                condition.unlock()
                drain(core)
                return .done
            }
            if parked {
                parked = false
                condition.signal()
            }
            condition.unlock()
            return .done
        case .pending, .opening:
            buffer.append(call)
            if case .setConsent(let consent) = call { lastConsent = consent }
            condition.unlock()
            return .done
        case .direct(let core):
            condition.unlock()
            return .direct(core)
        case .disabled:
            disabledRefusals += 1
            condition.unlock()
            return .done
        }
    }

    /// Applies what is queued on the calling thread, then says where the waiting call
    /// goes. A disabled instance counts the call as refused.
    func drained(countingRefusal: Bool = true) -> Target {
        condition.lock()
        let current = phase
        if case .disabled = current, countingRefusal { disabledRefusals += 1 }
        condition.unlock()
        switch current {
        case .queued(let core):
            drain(core)
            return .core(core)
        case .direct(let core):
            return .core(core)
        case .pending, .opening:
            return .notSetUp
        case .disabled:
            return .disabled
        }
    }

    /// Applies everything queued now, in batches, on the calling thread.
    private func drain(_ core: ReachFFI.Reach) {
        applyLock.lock()
        defer { applyLock.unlock() }
        // Two arrays swapped back and forth, so that in steady state neither the caller's
        // append nor the dispatcher allocates.
        condition.lock()
        var taken: [RecordedCall] = []
        swap(&taken, &spare)
        swap(&taken, &queue)
        condition.unlock()
        if taken.isEmpty { return }
        apply(taken, to: core)
        taken.removeAll(keepingCapacity: true)
        condition.lock()
        if spare.capacity < taken.capacity { spare = taken }
        condition.unlock()
    }

    private func apply(_ calls: [RecordedCall], to core: ReachFFI.Reach) {
        var start = 0
        while start < calls.count {
            let end = min(start + dispatchBatchLimit, calls.count)
            core.applyCalls(calls: calls[start..<end].map(\.queued))
            start = end
        }
    }

    // MARK: Setup and close

    /// Claims the right to open: false when the instance is not pending (set up, being set
    /// up, or disabled), so a second setup is ignored.
    func beginOpening() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard case .pending = phase else { return false }
        phase = .opening
        return true
    }

    /// Setup failed in strict mode: back to pending, the buffer kept, so the app may retry.
    func abortOpening() {
        condition.lock()
        phase = .pending
        condition.unlock()
    }

    /// Installs what was kept before setup, applies the buffer (stamped with the calls'
    /// own times), then opens the instance. Holds the lock throughout, so a call made on
    /// another thread meanwhile waits and lands after the buffered ones.
    func finishOpening(core: ReachFFI.Reach, strict: Bool) {
        condition.lock()
        defer { condition.unlock() }
        if let presenter = keptPresenter {
            try? core.setPopupPresenter(presenter: ClosurePresenter(presenter))
        }
        if let client = keptClaimClient {
            try? core.setClaimClient(client: ClaimClientAdapter(client))
        }
        if let scheduler = keptScheduler {
            try? core.setNotificationScheduler(scheduler: NotificationSchedulerAdapter(scheduler))
        }
        keptPresenter = nil
        keptClaimClient = nil
        keptScheduler = nil
        overflowAtSetup = buffer.dropped
        apply(buffer.takeAll(), to: core)
        if strict {
            phase = .direct(core)
        } else {
            phase = .queued(core)
            startDispatcher(core)
        }
    }

    /// Setup could not open the data directory (non-strict): refuse everything from now
    /// on; the buffered calls count as refused.
    func disable() {
        condition.lock()
        disabledRefusals += UInt64(buffer.takeAll().count)
        overflowAtSetup = buffer.dropped
        phase = .disabled
        keptPresenter = nil
        keptClaimClient = nil
        keptScheduler = nil
        condition.unlock()
    }

    /// Before close(): later calls go straight to the core (which refuses them as
    /// closed), the dispatcher stops, and what is queued is applied here.
    func closing() -> ReachFFI.Reach? {
        condition.lock()
        let current = phase
        if case .queued(let core) = current {
            phase = .direct(core)
            stopping = true
            condition.signal()
        }
        condition.unlock()
        switch current {
        case .queued(let core):
            drain(core)
            return core
        case .direct(let core):
            return core
        default:
            return nil
        }
    }

    /// The owning `Reach` is gone: the dispatcher applies what is left and exits, dropping
    /// its reference to the core, which then commits and frees the directory.
    func release() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    // MARK: State kept for setup, and counters

    /// Keeps a presenter set before setup; false when the instance is open (set it on
    /// the core instead).
    func keep(presenter: PopupHandler?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        switch phase {
        case .pending, .opening:
            keptPresenter = presenter
            return true
        default:
            return false
        }
    }

    func keep(scheduler: (any NotificationScheduler)?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        switch phase {
        case .pending, .opening:
            keptScheduler = scheduler
            return true
        default:
            return false
        }
    }

    func keep(claimClient: (any ClaimClient)?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        switch phase {
        case .pending, .opening:
            keptClaimClient = claimClient
            return true
        default:
            return false
        }
    }

    struct Counters {
        var buffered: Int
        var preSetupOverflow: UInt64
        var disabled: UInt64
        var lastConsent: Consent?
    }

    func counters() -> Counters {
        condition.lock()
        defer { condition.unlock() }
        let open: Bool
        switch phase {
        case .pending, .opening: open = false
        default: open = true
        }
        return Counters(
            buffered: open ? 0 : buffer.count,
            preSetupOverflow: open ? overflowAtSetup : buffer.dropped,
            disabled: disabledRefusals,
            lastConsent: lastConsent)
    }

    // MARK: The dispatcher

    private func startDispatcher(_ core: ReachFFI.Reach) {
        let thread = Thread { [self] in runDispatcher(core) }
        thread.name = "reach-dispatch"
        thread.start()
    }

    private func runDispatcher(_ core: ReachFFI.Reach) {
        var lingered = false
        while true {
            condition.lock()
            if queue.isEmpty && !stopping {
                if lingered {
                    parked = true
                    while parked && !stopping { condition.wait() }
                    parked = false
                    lingered = false
                } else {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: dispatchLingerSeconds))
                    lingered = queue.isEmpty
                }
            }
            let exit = stopping && queue.isEmpty
            condition.unlock()
            if exit { return }
            drain(core)
        }
    }
}
