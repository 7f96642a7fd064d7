import BrotherCore
import Glibc
import NIOCore
import Posix

/// One poll on the loop: connect (or take the kept-alive connection), write, read, parse, fill the slot.
extension AgentPollLoop {
    /// Starts (or, after a stale kept-alive connection, restarts) a slot's poll.
    func attempt(_ job: AgentPollJob, _ slot: Int) {
        let key = AgentKey(job.targets[slot])
        if let fd = checkOut(key) {
            job.reused[slot] = true
            sockets[Int(fd)]!.state = .busy
            send(job, slot, on: fd)
            return
        }
        job.reused[slot] = false
        guard openCount < openConnectionLimit else {
            // As if the process were out of descriptors (EMFILE: brother's fault, no observation), before it is.
            return job.fill(
                slot,
                AgentPoll(
                    observation: .balancerFault(.fileDescriptors), latency: job.latency(slot, now: now()),
                    problem: "this poll thread holds its share of the open-file limit (\(openConnectionLimit) connections)"))
        }
        do {
            let (fd, connected) = try openSocket(key)
            do {
                try adopt(fd: fd, key: key, connected: connected)
            } catch {
                close(fd)
                throw AgentExchangeError(error)
            }
            send(job, slot, on: fd)
        } catch {
            job.fill(slot, HTTPAgentFetcher.failure(error, latency: job.latency(slot, now: now()), timeout: job.timeoutDuration))
        }
    }

    private func send(_ job: AgentPollJob, _ slot: Int, on fd: Int32) {
        job.inFlight[slot] = fd
        sockets[Int(fd)]!.job = job
        sockets[Int(fd)]!.slot = slot
        sockets[Int(fd)]!.partial = nil
        sockets[Int(fd)]!.prepareRequest(job.targets[slot])
        if sockets[Int(fd)]!.state == .busy { writeRequest(fd) }
    }

    /// An epoll event for a connection.
    func handle(_ event: EpollReactor.Event) {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: event.token))
        let generation = UInt32(truncatingIfNeeded: event.token >> 32)
        guard fd >= 0, Int(fd) < sockets.count, let socket = sockets[Int(fd)], socket.generation == generation else { return }
        switch socket.state {
        case .connecting:
            guard event.isWritable || event.isErrorOrHangUp else { return }
            let code: Int32
            do {
                code = try SystemCall.pendingError(fd)
            } catch {
                return end(fd, .failure(AgentExchangeError(error)))
            }
            guard code == 0 else { return end(fd, .failure(AgentExchangeError.socket(call: "connect", errno: code))) }
            sockets[Int(fd)]!.state = .busy
            writeRequest(fd)
        case .busy:
            if event.isWritable, socket.unsent > 0 { writeRequest(fd) }
            if event.isReadable || event.isErrorOrHangUp, sockets[Int(fd)]?.generation == generation {
                readAnswer(fd)
            }
        case .idle:
            // An idle connection has nothing to say: this is the agent closing it (or bytes nobody
            // asked for, after which its framing cannot be trusted). Either way it goes.
            closeSocket(fd)
        }
    }

    private func writeRequest(_ fd: Int32) {
        guard let socket = sockets[Int(fd)], socket.unsent > 0 else { return }
        let outcome = socket.request.withUnsafeReadableBytes { bytes in
            Result { () throws(SystemCallError) in
                try SystemCall.send(
                    fd, UnsafeRawBufferPointer(start: bytes.baseAddress! + (bytes.count - socket.unsent), count: socket.unsent),
                    flags: Int32(MSG_NOSIGNAL))
            }
        }
        let written: Int
        switch outcome {
        case .success(.processed(let count)): written = count
        case .success(.wouldBlock): return watchWrites(fd, true)
        case .failure(let failure):
            let error = failure.errno == EPIPE || failure.errno == ECONNRESET ? AgentExchangeError.closedBeforeAnswer : AgentExchangeError(failure)
            return end(fd, .failure(error))
        }
        sockets[Int(fd)]!.unsent -= written
        // A request is a few hundred bytes into an empty socket buffer: almost always written whole.
        watchWrites(fd, sockets[Int(fd)]!.unsent > 0)
    }

    /// Reads what has arrived on a busy connection whose poll is at its deadline.
    func lastLook(_ fd: Int32) {
        readAnswer(fd)
    }

    private func readAnswer(_ fd: Int32) {
        readBuffer.clear()
        var outcome: Result<IOResult<Int>, SystemCallError> = .success(.processed(0))
        readBuffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { bytes in
            outcome = Result { () throws(SystemCallError) in try SystemCall.read(fd, into: bytes) }
            guard case .success(.processed(let count)) = outcome else { return 0 }
            return count
        }
        let partial = sockets[Int(fd)]!.partial
        let hasPartial = partial != nil
        let result: Int
        switch outcome {
        case .success(.processed(let count)): result = count
        case .success(.wouldBlock): return
        case .failure(let failure):
            // A reset before any answer is a connection the agent dropped, like a close.
            let error =
                (failure.errno == ECONNRESET || failure.errno == EPIPE) && !hasPartial
                ? AgentExchangeError.closedBeforeAnswer : AgentExchangeError(failure)
            return end(fd, .failure(error))
        }
        if result == 0 {
            guard let partial else { return end(fd, .failure(AgentExchangeError.closedBeforeAnswer)) }
            return finish(
                fd, Result { () throws(AgentExchangeError) in try partial.parser.parse(partial.bytes, connectionClosed: true) },
                received: partial.bytes.readableBytes, connectionClosed: true)
        }
        if let partial {
            // Appended in place (the partial answer holds the only reference to its bytes), and parsed on
            // from where the last read left off: each byte is looked at once however the answer is split.
            partial.bytes.writeBuffer(&readBuffer)
            let outcome = Result { () throws(AgentExchangeError) in try partial.parser.parse(partial.bytes, connectionClosed: false) }
            finish(fd, outcome, received: partial.bytes.readableBytes, connectionClosed: false)
        } else {
            // The common case, an answer in one read: parsed where it lies, nothing allocated for it.
            var parser = AgentResponseParser(limits: Self.answerLimits)
            let outcome = Result { () throws(AgentExchangeError) in try parser.parse(readBuffer, connectionClosed: false) }
            if case .success(.needMoreBytes) = outcome {
                // Kept in a buffer of its own: the read buffer is overwritten by the next read.
                var kept = ByteBufferAllocator().buffer(capacity: readBuffer.readableBytes + 512)
                kept.writeImmutableBuffer(readBuffer)
                sockets[Int(fd)]!.partial = PartialAnswer(bytes: kept, parser: parser)
                return
            }
            finish(fd, outcome, received: readBuffer.readableBytes, connectionClosed: false)
        }
    }

    /// What every poll's answer may be: litmus answers are a few hundred bytes (see ``AgentResponseParser/Limits``).
    static let answerLimits = AgentResponseParser.Limits(maximumBodySize: HTTPAgentFetcher.maximumBodySize)

    /// Ends the exchange with the parser's outcome, or leaves it waiting for more bytes.
    private func finish(_ fd: Int32, _ outcome: Result<AgentResponseParser.Outcome, AgentExchangeError>, received: Int, connectionClosed: Bool) {
        switch outcome {
        case .success(.needMoreBytes):
            break
        case .success(.answer(var answer, let consumed)):
            // Bytes after the answer were never asked for: do not reuse the connection.
            answer.keepAlive = answer.keepAlive && consumed == received && !connectionClosed
            end(fd, .success(answer))
        case .failure(let error):
            end(fd, .failure(error))
        }
    }

    /// The exchange on `fd` ended: the connection goes back to the pool or closes, and the slot is
    /// filled, or retried on a new connection when a kept-alive one turned out stale.
    func end(_ fd: Int32, _ result: Result<AgentAnswer, any Error>) {
        guard let socket = sockets[Int(fd)] else { return }
        sockets[Int(fd)]!.job = nil
        sockets[Int(fd)]!.partial = nil
        guard let job = socket.job, job.inFlight[socket.slot] == fd, job.results[socket.slot] == nil else { return closeSocket(fd) }
        let slot = socket.slot
        let now = now()
        switch result {
        case .success(let answer):
            if answer.keepAlive { checkIn(fd, now: now) } else { closeSocket(fd) }
            job.fill(slot, HTTPAgentFetcher.poll(answer, latency: job.latency(slot, now: now)))
        case .failure(let error):
            closeSocket(fd)
            if job.reused[slot], HTTPAgentFetcher.isStaleConnection(error), now < job.deadlines[slot] {
                attempt(job, slot)
            } else {
                job.fill(slot, HTTPAgentFetcher.failure(error, latency: job.latency(slot, now: now), timeout: job.timeoutDuration))
            }
        }
    }
}
