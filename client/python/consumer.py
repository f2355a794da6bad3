#!/usr/bin/python3
"""Sluice streaming consumer example (Queues.StreamReceive).

    consumer.py --queue jobs                      # runs until Ctrl-C
    consumer.py --queue orders.fifo --max 1000    # stops after 1000 messages
    consumer.py --queue jobs --idle-exit 5        # stops when idle for 5 s

A cluster with TLS and authentication takes $SLUICE_TLS_CA plus
$SLUICE_TOKEN or a client certificate ($SLUICE_TLS_CERT, $SLUICE_TLS_KEY),
as `sluice` does (SluiceClient.from_env).

Prints one JSON line per message on stdout. What the stream protocol asks of
a client, and where this file does it:

- Flow control: nothing is delivered without credit. The `start` item grants
  `prefetch` messages; as handlers finish, more credit is granted so that at
  most `prefetch` messages are with this consumer (_grant_credits).
- Every delivered message is leased until its lease_deadline. A handler that
  succeeds acks it (`ack` item = Delete); one that raises nacks it (`nack`
  item: visible again, after --nack-delay or the queue's retry_policy). After
  max_receive_count receives a queue with a redrive_policy moves the message
  to its dead-letter queue.
- FIFO queues may deliver several messages of one group at once (in order;
  the group stays locked while any is leased): they are handled one after
  another, never in parallel (_start_work). If one fails, the later ones of
  its group are released with it so that the order holds on redelivery.
- A handler that runs long keeps its lease: a keeper thread sends
  `extend_lease` items before leases run out (_keep_leases).
- Any node serves the stream; on a queue with one partition the consumer
  opens it at that partition's leader (GetQueue), which saves each poll a
  forwarding hop (_stream_address).
- The server may end the stream at any time (leader change: UNAVAILABLE with
  a `sluice-leader` hint; node shutdown). Leases stay valid; the consumer
  reconnects, to the hinted node or another one, with backoff, and finishes
  acks that were in flight with the unary Delete (which is idempotent). An
  item whose result is retryable (the partition is changing leader) is
  redone the same way (_unary).
- The server sends a heartbeat when the stream is otherwise silent; after 3
  silent heartbeat intervals the consumer gives up on the stream.
"""
import argparse
import concurrent.futures
import itertools
import json
import logging
import queue
import signal
import sys
import threading
import time

import grpc

import sluice_client
from sluice_client import SluiceClient, SluiceError, v1

log = logging.getLogger("sluice.consumer")
pb = v1.queues_pb2


class _Lease:
    """A message a handler is working on."""

    def __init__(self, message, deadline):
        self.message = message
        self.handle = message.receipt_handle
        self.deadline = deadline   # local monotonic estimate of the lease end
        self.extending = False     # an extend is on its way
        self.lost = False          # the lease ran out or was taken over


class _Session:
    """One StreamReceive call. Client items are queued in `outbox`; gRPC
    sends them from its own thread through the `requests` generator."""

    def __init__(self, address):
        self.address = address
        self.outbox = queue.Queue()
        self.call = None
        self.open = True          # still accepting client items
        self.started = False      # the server answered `start`
        self.visibility = None    # seconds, from StreamStarted
        self.heartbeat = 5.0      # seconds, from StreamStarted
        self.last_heard = time.monotonic()
        self.credit = 0           # granted and not yet used by deliveries

    def requests(self):
        while True:
            item = self.outbox.get()
            if item is None:      # half-close: the server then ends the stream
                return
            yield item

    def close_send(self):
        if self.open:
            self.open = False
            self.outbox.put(None)


class StreamConsumer:
    """Runs `handler(message)` for every message of `queue_name`, in up to
    `concurrency` threads; a handler that returns acks the message, one that
    raises nacks it.

    prefetch: most messages delivered and not yet finished (credit window).
    visibility_timeout: lease length in seconds (default: the queue's).
    extend: keep leases of running handlers alive (extend_lease items).
    nack_delay: seconds before a nacked message is visible again (default:
      the queue's retry_policy, else at once).
    max_messages: stop after this many deliveries (acked or nacked).
    idle_exit: stop after this many seconds without any message.
    address: the node to open the first stream at (default: the leader of
      a one-partition queue, else the client's preferred node).
    """

    def __init__(self, client, queue_name, handler, prefetch=16,
                 concurrency=4, visibility_timeout=None, extend=True,
                 nack_delay=None, max_messages=None, idle_exit=None,
                 client_id="python-consumer", address=None):
        self.client = client
        self.address = address
        self.queue_name = queue_name
        self.handler = handler
        self.prefetch = prefetch
        self.visibility_timeout = visibility_timeout
        self.extend = extend
        self.nack_delay = nack_delay
        self.max_messages = max_messages
        self.idle_exit = idle_exit
        self.client_id = client_id
        self.stats = dict(delivered=0, acked=0, nacked=0, extended=0,
                          failed_items=0, released=0, reconnects=0)
        self._pool = concurrent.futures.ThreadPoolExecutor(concurrency)
        self._lock = threading.Lock()
        self._session = None
        self._busy = {}           # receipt handle -> _Lease
        self._fifo = False        # from StreamStarted.queue_type
        self._groups = {}         # FIFO group id -> leases waiting behind the running one
        self._pending = {}        # correlation id -> (kind, handles, session, sent, delay)
        self._redoing = 0         # items being redone with unary calls
        self._ids = itertools.count(1)
        self._last_activity = time.monotonic()
        self._stop_requested = threading.Event()
        self._stopping = False    # draining: no new work
        self._done = False        # closed on purpose: do not reconnect

    # ---- public --------------------------------------------------------
    def stop(self):
        """Asks the consumer to finish: running handlers complete and are
        acked, then the stream is closed and run() returns."""
        self._stop_requested.set()

    def run(self):
        keeper = threading.Thread(target=self._keep_leases, daemon=True)
        keeper.start()
        address, attempt = self.address or self._stream_address(), 0
        try:
            while not self._done:
                code, metadata, started = self._run_session(address)
                if self._done:
                    break
                if code not in sluice_client.RETRYABLE and \
                        code != grpc.StatusCode.OK:
                    raise SluiceError(code, metadata.get("details", ""),
                                      metadata.get("sluice-error-reason", ""))
                # Reconnect: to the leader the server named, else to the
                # partition's leader or another node.
                attempt = 0 if started else attempt + 1
                address = metadata.get("sluice-leader") or \
                    self._stream_address(after=address)
                self.stats["reconnects"] += 1
                delay = sluice_client.backoff_delay(
                    attempt, metadata.get("sluice-retry-after-ms"))
                log.info("stream ended (%s); reconnecting to %s in %.2fs",
                         code.name, address, delay)
                self._stop_requested.wait(delay)
        finally:
            self._done = True
            self._pool.shutdown(wait=True)
            keeper.join()
        return self.stats

    def _stream_address(self, after=None):
        """Where to open the stream. Any node serves it; on a queue with
        one partition its leader (from GetQueue) saves every poll a
        forwarding hop. Else the client's preferred node, or after a failed
        stream (`after`) the next one."""
        try:
            queue = self.client.get_queue(self.queue_name)  # learns leaders
            if queue.attributes.partition_count == 1:
                leader = self.client.leader_of(self.queue_name, 0)
                if leader and leader != after:
                    return leader
        except SluiceError as error:
            log.info("GetQueue %s: %s", self.queue_name, error)
        return self.client.next_address(after) if after \
            else self.client.preferred

    # ---- one stream ----------------------------------------------------
    def _run_session(self, address):
        """Runs one StreamReceive until it ends; returns (code, trailing
        metadata, whether it started)."""
        session = _Session(address)
        start = pb.StreamStart(queue_name=self.queue_name,
                               client_id=self.client_id)
        if self.visibility_timeout is not None:
            start.visibility_timeout.CopyFrom(
                sluice_client.duration(self.visibility_timeout))
        with self._lock:
            if self._stopping:
                self._done = True
                return grpc.StatusCode.OK, {}, False
            start.initial_credits.messages = self._credit_wanted(session)
            session.credit = start.initial_credits.messages
            self._session = session
        session.outbox.put(pb.StreamReceiveRequest(start=start))
        call = self.client.queues(address).StreamReceive(session.requests())
        session.call = call
        try:
            for response in call:
                session.last_heard = time.monotonic()
                kind = response.WhichOneof("item")
                if kind == "started":
                    s = response.started
                    session.visibility = s.visibility_timeout.ToMilliseconds() / 1000
                    session.heartbeat = max(
                        1.0, s.heartbeat_interval.ToMilliseconds() / 1000)
                    session.started = True
                    self._fifo = s.queue_type == v1.types_pb2.QUEUE_TYPE_FIFO
                    log.info("receiving from %s via %s (node %d, stream %s)",
                             self.queue_name, address, s.node_id,
                             s.stream_id)
                elif kind == "messages":
                    for message in response.messages.messages:
                        self._deliver(session, message)
                elif kind == "results":
                    for result in response.results.results:
                        self._on_result(result)
                elif kind == "heartbeat":
                    for handle in response.heartbeat.expired_receipt_handles:
                        log.warning("lease ran out: %s", handle)
            code = call.code()
        except grpc.RpcError as error:
            code = error.code()
        metadata = sluice_client.trailing_dict(call)
        metadata["details"] = call.details() or ""
        self._session_ended(session)
        return code, metadata, session.started

    def _session_ended(self, session):
        """Items whose results will never come: finish acks and nacks with
        the unary calls (Delete is idempotent; a nack that was applied
        already fails harmlessly). Extends are simply tried again."""
        with self._lock:
            session.close_send()
            if self._session is session:
                self._session = None
            orphans = [(cid, p) for cid, p in self._pending.items()
                       if p[2] is session]
            for cid, (kind, handles, _, _, _) in orphans:
                del self._pending[cid]
                if kind == "extend":
                    for h in handles:
                        if h in self._busy:
                            self._busy[h].extending = False
        for _, (kind, handles, _, _, delay) in orphans:
            if kind != "extend":
                self._unary(kind, handles, delay)

    # ---- deliveries ----------------------------------------------------
    def _deliver(self, session, message):
        now = time.monotonic()
        with self._lock:
            session.credit = max(0, session.credit - 1)
            self._last_activity = now
            if self._stopping:
                release = True
                self.stats["released"] += 1
            else:
                release = False
                self.stats["delivered"] += 1
                lease = _Lease(message, now + session.visibility)
                self._busy[lease.handle] = lease
        if release:  # arrived while shutting down: give it back at once
            self._settle("nack", [message.receipt_handle], delay=0)
            return
        self._start_work(lease)

    def _start_work(self, lease):
        """Runs the handler in the pool; FIFO: one message per group at a
        time, in delivery order."""
        group = lease.message.group_id
        if self._fifo and group:
            with self._lock:
                if group in self._groups:  # a message of the group is running
                    self._groups[group].append(lease)
                    return
                self._groups[group] = []
        self._pool.submit(self._work, lease)

    def _work(self, lease):
        try:
            self.handler(lease.message)
            ok = True
        except Exception as error:  # the handler failed: nack
            log.warning("handler failed for %s: %s",
                        lease.message.message_id, error)
            ok = False
        group = lease.message.group_id
        following, handles = None, [lease.handle]
        with self._lock:
            self._busy.pop(lease.handle, None)
            self._last_activity = time.monotonic()
            self.stats["acked" if ok else "nacked"] += 1
            if self._fifo and group in self._groups:
                waiting = self._groups[group]
                if not ok:  # release the rest of the group along with it
                    for later in waiting:
                        self._busy.pop(later.handle, None)
                        handles.append(later.handle)
                    self.stats["released"] += len(waiting)
                    waiting = []
                if waiting:
                    following = waiting.pop(0)
                else:
                    del self._groups[group]
        if ok:
            self._settle("ack", handles)
        else:
            self._settle("nack", handles, delay=self.nack_delay)
        if following is not None:
            self._pool.submit(self._work, following)
        self._grant_credits()

    def _credit_wanted(self, session):
        """Credit to grant now so that busy + unspent credit = prefetch
        (and no more than --max allows). Caller holds the lock."""
        want = self.prefetch - len(self._busy) - session.credit
        if self.max_messages is not None:
            want = min(want, self.max_messages - self.stats["delivered"]
                       - session.credit)
        return max(0, want)

    def _grant_credits(self):
        with self._lock:
            session = self._session
            if session is None or not session.open or self._stopping:
                return
            want = self._credit_wanted(session)
            # Grant in batches (a quarter of the window) rather than one
            # credit per message; the remainder when near --max.
            if want == 0 or (want < max(1, self.prefetch // 4) and
                             session.credit + len(self._busy) > 0):
                return
            session.credit += want
            session.outbox.put(pb.StreamReceiveRequest(
                credits=pb.StreamCredits(messages=want)))  # id 0: errors only

    # ---- ack / nack / extend ------------------------------------------
    def _settle(self, kind, handles, delay=None):
        """Sends an ack, nack or extend item on the stream, or, with no
        stream open, the equivalent unary call."""
        request = pb.StreamReceiveRequest()
        if kind == "ack":
            request.ack.receipt_handles.extend(handles)
        elif kind == "nack":
            request.nack.receipt_handles.extend(handles)
            if delay is not None:
                request.nack.redelivery_delay.CopyFrom(
                    sluice_client.duration(delay))
        else:
            request.extend_lease.receipt_handles.extend(handles)
            request.extend_lease.visibility_timeout.CopyFrom(
                sluice_client.duration(self._visibility()))
        with self._lock:
            session = self._session
            if session is not None and session.open and session.started:
                # A non-zero correlation id: the server reports every result,
                # so the consumer knows when an ack is done.
                request.correlation_id = next(self._ids)
                self._pending[request.correlation_id] = (
                    kind, handles, session, time.monotonic(), delay)
                session.outbox.put(request)
                return
        self._unary(kind, handles, delay)

    def _visibility(self):
        session = self._session
        if session is not None and session.visibility:
            return session.visibility
        return self.visibility_timeout or 30.0

    def _on_result(self, result):
        with self._lock:
            entry = self._pending.pop(result.correlation_id, None)
        if entry is None:  # correlation id 0: a failed credits item
            if result.status.code != sluice_client.OK:
                log.warning("stream item failed: %s", result.status.message)
            return
        kind, handles, _, sent, delay = entry
        outcomes = [(r.receipt_handle, r.status)
                    for r in result.receipt_results]
        if not outcomes and result.status.code != sluice_client.OK:
            outcomes = [(h, result.status) for h in handles]  # whole item
        for handle, status in outcomes:
            if status.code in sluice_client.RETRYABLE_ENTRY_CODES:
                # E.g. the partition is changing leader: redo this handle
                # with the unary call (with retries), off the stream's
                # thread. An extend stays marked as under way until then.
                with self._lock:
                    self._redoing += 1
                threading.Thread(target=self._redo, daemon=True,
                                 args=(kind, handle, delay)).start()
            else:
                self._on_receipt_result(kind, handle, status, sent)

    def _redo(self, kind, handle, delay):
        try:
            self._unary(kind, [handle], delay)
        finally:
            with self._lock:
                self._redoing -= 1

    def _on_receipt_result(self, kind, handle, status, sent):
        ok = status.code == sluice_client.OK
        if not ok:
            # RECEIPT_HANDLE_STALE: the message was leased again (our lease
            # ran out): it will be, or was, processed again.
            log.warning("%s failed for %s: %s", kind, handle, status.message)
        with self._lock:
            if not ok:
                self.stats["failed_items"] += 1
            if kind != "extend":
                return
            lease = self._busy.get(handle)
            if lease is None:
                return
            lease.extending = False
            if ok:
                self.stats["extended"] += 1
                lease.deadline = sent + self._visibility()
            else:
                lease.lost = True

    def _unary(self, kind, handles, delay=None):
        """The unary equivalents of the stream items (Delete for an ack,
        ChangeVisibility for a nack or extend), retried per entry too. A nack
        becomes visible after `delay` (None: at once; an explicit change
        skips the queue's retry_policy)."""
        for start in range(0, len(handles), 100):
            chunk = handles[start:start + 100]
            sent = time.monotonic()
            try:
                if kind == "ack":
                    results = self.client.call_batch(
                        "Delete", pb.DeleteRequest(
                            queue_name=self.queue_name, entries=[
                                pb.DeleteEntry(entry_id=f"e{i}",
                                               receipt_handle=h)
                                for i, h in enumerate(chunk)]))
                else:
                    seconds = (delay or 0) if kind == "nack" \
                        else self._visibility()
                    results = self.client.call_batch(
                        "ChangeVisibility", pb.ChangeVisibilityRequest(
                            queue_name=self.queue_name, entries=[
                                pb.ChangeVisibilityEntry(
                                    entry_id=f"e{i}", receipt_handle=h,
                                    visibility_timeout=sluice_client.duration(
                                        seconds))
                                for i, h in enumerate(chunk)]))
            except SluiceError as error:
                log.warning("%s of %d messages failed: %s", kind, len(chunk),
                            error)
                with self._lock:
                    self.stats["failed_items"] += len(chunk)
                    for h in chunk:  # an extend is tried again
                        if kind == "extend" and h in self._busy:
                            self._busy[h].extending = False
                continue
            for h, r in zip(chunk, results):
                self._on_receipt_result(kind, h, r.status, sent)

    # ---- the keeper thread -------------------------------------------
    def _keep_leases(self):
        """Extends leases that are about to run out, watches the stream's
        liveness, and ends the consumer (stop(), --idle-exit, --max)."""
        drain_started = None
        while not self._done:
            time.sleep(0.1)
            now = time.monotonic()
            with self._lock:
                session = self._session
                margin = self._visibility() / 2
                due = [] if not self.extend else [
                    lease.handle for lease in self._busy.values()
                    if not lease.extending and not lease.lost and
                    lease.deadline - now <= margin]
                for h in due:
                    self._busy[h].extending = True
                idle = not self._busy and self.idle_exit is not None and \
                    now - self._last_activity >= self.idle_exit
                full = self.max_messages is not None and \
                    self.stats["delivered"] >= self.max_messages
                if not self._stopping and (
                        self._stop_requested.is_set() or idle or full):
                    self._stopping = True
                    drain_started = now
                # Draining: close once handlers are done and their acks
                # answered (or after 30 s).
                settled = not self._busy and not self._redoing and not any(
                    p[0] != "extend" for p in self._pending.values())
                if self._stopping and (settled or now - drain_started > 30):
                    self._done = True
                    if session is not None:
                        session.close_send()
            if due:
                self._settle("extend", due)
            if session is not None and session.started and not self._done \
                    and now - session.last_heard > 3 * session.heartbeat:
                log.warning("stream silent for %.1fs; reconnecting",
                            now - session.last_heard)
                session.call.cancel()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sluice_client.add_addresses_argument(parser)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--prefetch", type=int, default=32,
                        help="credit window: most messages held at once")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="handler threads")
    parser.add_argument("--visibility", type=float, default=None,
                        help="lease length in seconds (default: the queue's)")
    parser.add_argument("--work", type=float, default=0.0,
                        help="seconds each message takes to handle (demo)")
    parser.add_argument("--nack-delay", type=float, default=None)
    parser.add_argument("--max", type=int, default=None,
                        help="exit after this many messages")
    parser.add_argument("--idle-exit", type=float, default=None,
                        help="exit after this many seconds without messages")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="consumer: %(message)s")

    print_lock = threading.Lock()

    def handle(message):
        time.sleep(args.work)  # the real work would go here
        line = json.dumps({
            "message_id": message.message_id,
            "partition": message.partition,
            "sequence_number": message.sequence_number,
            "group_id": message.group_id,
            "receive_count": message.receive_count,
            "body": message.body.decode("utf-8", "replace"),
        })
        with print_lock:
            print(line, flush=True)

    try:
        client = SluiceClient.from_env(args.addresses)
    except ValueError as error:  # no addresses, or bad TLS settings
        parser.error(str(error))
    consumer = StreamConsumer(
        client, args.queue, handle, prefetch=args.prefetch,
        concurrency=args.concurrency, visibility_timeout=args.visibility,
        nack_delay=args.nack_delay, max_messages=args.max,
        idle_exit=args.idle_exit)
    signal.signal(signal.SIGINT, lambda *_: consumer.stop())
    signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
    try:
        stats = consumer.run()
    except SluiceError as error:
        print(f"consumer: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print("consumer: " + ", ".join(f"{k} {v}" for k, v in stats.items()),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
