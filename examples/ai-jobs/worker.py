#!/usr/bin/python3
"""The worker of the AI-jobs example: takes jobs from the queue `jobs.fifo`, runs
them (a stand-in for model inference), writes results to the job store and
acknowledges the messages.

    /usr/bin/python3 examples/ai-jobs/worker.py [--concurrency=2]
        [--lease-seconds=30] [--latency-ms=500-3000] [--seed=N]
        [--outage-file=PATH] [--db=PATH] [--addresses=H:P,...]

How it uses Sluice: through the Python client's StreamConsumer
(client/python/consumer.py), which speaks Queues.StreamReceive:

- One stream, with one message credit per slot (--concurrency = prefetch),
  so the server never hands the worker more jobs than it can start at once:
  nothing waits in a local buffer while its lease runs out. When a job ends
  the consumer acks (or nacks) it and grants the credit again.
- Each delivery is a lease of --lease-seconds. A job that runs longer has
  its lease extended (halfway through each lease), so no other worker
  gets it.
- Success: result written to the store FIRST, then ack (delete). If the
  worker dies in between, the job is delivered again; the store then says
  "done" and the worker only acks (at-least-once delivery, idempotent
  processing).
- Failure (the handler raises): nack without a delay: the queue's
  retry_policy (0.5 s, 1 s, 2 s, ...) decides when it comes back; after
  redrive_policy.max_receive_count (3) receives it goes to the dead-letter
  queue `jobs-dlq.fifo`.
- The stream is opened at the partition's leader (GetQueue lists it); any
  node would serve it, one forwarding hop away. It can end at any time
  (leader change, node restart): the consumer reconnects, to the leader the
  error names or another node. Leases it holds stay valid; acks and
  extensions whose results it did not see are redone with the unary Delete
  / ChangeVisibility RPCs, which take the receipt handle from any stream.
- A DLQ watcher thread peeks (reads without leasing) `jobs-dlq.fifo` and
  marks the jobs it finds there "failed", so the API can report them. The
  messages stay in the DLQ for a human to inspect and redrive.

SIGTERM / Ctrl-C: stop taking jobs, finish the running ones, ack, exit.
"""
import argparse
import json
import logging
import os
import pathlib
import random
import signal
import sys
import threading
import time
import traceback

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] /
                       "client" / "python"))
import sluice_client  # noqa: E402  (client/python)
from consumer import StreamConsumer  # noqa: E402
from setup_queues import DLQ, JOBS, MAX_RECEIVE_COUNT, ensure_queues  # noqa: E402
from sluice_client import SluiceClient, SluiceError, v1  # noqa: E402
from store import DEFAULT_DB, Store  # noqa: E402

queues_pb2 = v1.queues_pb2
WORKER_ID = f"worker-{os.getpid()}"


def log(message):
    print(f"{time.strftime('%H:%M:%S')} {WORKER_ID}: {message}",
          file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# The "model": a stand-in for inference with variable latency.
# ---------------------------------------------------------------------------

class InferenceError(Exception):
    pass


def models_down(outage_file):
    """The models listed in the outage file (whitespace or commas), read
    anew for every job: an outage starts and ends without a restart."""
    if not outage_file:
        return set()
    try:
        with open(outage_file) as f:
            return set(f.read().replace(",", " ").split())
    except FileNotFoundError:
        return set()


def infer(job, attempt, rng, latency_ms, outage_file):
    """Sleeps like a model would, then returns a result or raises."""
    if "sleep_ms" in job:
        latency = job["sleep_ms"] / 1000.0
    else:
        latency = rng.uniform(*latency_ms) / 1000.0
    time.sleep(latency)
    model = job.get("model", "tiny-llm")
    if job.get("fail"):
        raise InferenceError('the job asks to fail ("fail": true)')
    if attempt <= job.get("fail_times", 0):
        raise InferenceError(
            f"transient failure {attempt} of {job['fail_times']}")
    if model in models_down(outage_file):
        raise InferenceError(f"model {model} is not available")
    return {
        "model": model,
        "output": job["prompt"][::-1],   # the "inference": reversed prompt
        "tokens": len(job["prompt"].split()),
        "latency_ms": round(latency * 1000),
        "worker": WORKER_ID,
    }


# ---------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------

def parse_job(message):
    """The job a message carries (the API's JSON), or None."""
    try:
        job = json.loads(message.body)
        return job if isinstance(job.get("job_id"), str) else None
    except (ValueError, AttributeError):
        return None


class JobFailed(Exception):
    """Raised by the handler so that the consumer nacks the message."""


class Worker:
    def __init__(self, client, store, args):
        self.client = client
        self.store = store
        self.args = args
        self.consumer = StreamConsumer(
            client, JOBS, self.process,
            prefetch=args.concurrency,       # one credit per free slot
            concurrency=args.concurrency,
            visibility_timeout=args.lease_seconds,
            nack_delay=None,                 # the queue's retry_policy
            client_id=WORKER_ID)
        self.stopped = threading.Event()
        self.failed = None                   # SluiceError that ended it
        self.threads = []

    def start(self, on_failure=lambda: None):
        def receive():
            try:
                self.consumer.run()
            except SluiceError as e:       # e.g. the queue was deleted
                log(f"receiving from {JOBS} failed: {e}")
                self.failed = e
                on_failure()
        targets = [receive] + ([self.dlq_watcher] if self.args.watch_dlq
                               else [])
        for target in targets:
            thread = threading.Thread(target=target, daemon=True,
                                      name=target.__name__)
            thread.start()
            self.threads.append(thread)

    def stop(self, drain_seconds=30.0):
        """Takes no more jobs, finishes the running ones and acks them
        (StreamConsumer.stop), then closes the stream."""
        log("stopping: no new jobs; finishing the running ones")
        self.consumer.stop()
        self.threads[0].join(timeout=drain_seconds + 5)
        self.stopped.set()
        for thread in self.threads[1:]:
            thread.join(timeout=1)
        log("stopped")

    # -- the job ---------------------------------------------------------------

    def process(self, message):
        """The StreamConsumer handler: returns to ack, raises to nack."""
        job = parse_job(message)
        if job is None:
            # Not a job: give it back; after max_receive_count receives the
            # queue moves it to the DLQ, where a human can look at it.
            log(f"message {message.message_id} is not a job; nack")
            raise JobFailed("not a job")
        job_id = job["job_id"]
        attempt = message.receive_count
        try:
            if not self.store.start_attempt(job_id, job, attempt, WORKER_ID):
                log(f"{job_id} is already done (redelivery); ack")
                return
            log(f"{job_id} attempt {attempt}: running")
            rng = random.Random(f"{self.args.seed}:{job_id}:{attempt}")
            try:
                result = infer(job, attempt, rng, self.args.latency_ms,
                               self.args.outage_file)
            except InferenceError as e:
                self.store.finish_attempt(job_id, attempt, WORKER_ID,
                                          error=str(e))
                log(f"{job_id} attempt {attempt} failed: {e}; nack"
                    + (f" (it goes to {DLQ} at the next delivery)"
                       if attempt >= MAX_RECEIVE_COUNT else ""))
                raise JobFailed(str(e)) from None
            self.store.finish_attempt(job_id, attempt, WORKER_ID,
                                      result=result)
            log(f"{job_id} done in {result['latency_ms']} ms; ack")
        except JobFailed:
            raise
        except Exception:  # a bug or the store failing: let it be retried
            log(f"{job_id}: {traceback.format_exc()}")
            raise JobFailed("worker error") from None

    # -- the dead-letter queue -------------------------------------------------

    def dlq_watcher(self):
        """Marks jobs whose messages are in the DLQ as failed. Reads with
        Peek (no lease, no receive count change), so the messages stay
        there for inspection and redrive."""
        next_sequence = {}   # partition -> first sequence number not seen
        partitions = None
        while not self.stopped.wait(self.args.dlq_poll_seconds):
            try:
                if partitions is None:
                    partitions = self.client.get_queue(
                        DLQ).attributes.partition_count
                for p in range(partitions):
                    while True:
                        response = self.client.call(
                            "Peek", queues_pb2.PeekRequest(
                                queue_name=DLQ, partition=p, limit=100,
                                from_sequence_number=next_sequence.get(p, 0)))
                        for message in response.messages:
                            self.dead_lettered(message)
                            next_sequence[p] = message.sequence_number + 1
                        if len(response.messages) < 100:
                            break
            except SluiceError as e:
                log(f"DLQ watcher: {e}")

    def dead_lettered(self, message):
        job = parse_job(message)
        if job is None:
            log(f"{DLQ} holds message {message.message_id}, not a job")
            return
        job_id = job["job_id"]
        source = message.dead_letter_source
        reason = (f"dead-lettered to {DLQ} after "
                  f"{source.source_receive_count} attempts")
        self.store.mark_dead_lettered(job_id, job, reason)
        log(f"{job_id} is in {DLQ} (after {source.source_receive_count} "
            f"attempts): marked failed")


def parse_range(text):
    low, _, high = text.partition("-")
    low, high = float(low), float(high or low)
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError("want LOW-HIGH milliseconds")
    return low, high


def main():
    global WORKER_ID
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sluice_client.add_addresses_argument(parser, sluice_client.LOCAL_CLUSTER)
    parser.add_argument("--db", default=DEFAULT_DB,
                        help="SQLite job store shared with the API")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="jobs run at once (= stream credits)")
    parser.add_argument("--lease-seconds", type=float, default=30.0,
                        help="lease per delivery; extended while a job runs")
    parser.add_argument("--latency-ms", type=parse_range,
                        default=(500.0, 3000.0),
                        help="simulated inference time, LOW-HIGH")
    parser.add_argument("--seed", type=int, default=1,
                        help="seeds the latencies (per job and attempt)")
    parser.add_argument("--outage-file",
                        help="jobs for the models listed in this file fail "
                        "(a simulated outage; re-read for every job)")
    parser.add_argument("--no-dlq-watch", dest="watch_dlq",
                        action="store_false",
                        help="do not mark dead-lettered jobs failed")
    parser.add_argument("--dlq-poll-seconds", type=float, default=1.0)
    parser.add_argument("--worker-id", default=WORKER_ID)
    args = parser.parse_args()
    WORKER_ID = args.worker_id
    if args.concurrency < 1 or args.lease_seconds < 1:
        parser.error("--concurrency and --lease-seconds must be >= 1")

    # The client library logs through `logging` (streams opened, leases
    # that ran out, failed acks): into this worker's log, like its own lines.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s {WORKER_ID}: %(message)s", datefmt="%H:%M:%S"))
    logging.getLogger("sluice").addHandler(handler)
    logging.getLogger("sluice").setLevel(logging.INFO)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    client = SluiceClient.from_env(args.addresses, call_timeout=5, retry_for=20,
                          log=log)
    try:
        ensure_queues(client, log=log)
        worker = Worker(client, Store(args.db), args)
        worker.start(on_failure=stop.set)
        log(f"{args.concurrency} slots, lease {args.lease_seconds:g}s, "
            f"latency {args.latency_ms[0]:g}-{args.latency_ms[1]:g} ms"
            + (f", models down: those in {args.outage_file}"
               if args.outage_file else ""))
        while not stop.wait(0.5):
            pass
        worker.stop()
    except SluiceError as e:
        log(f"{e}")
        return 1
    finally:
        client.close()
    return 1 if worker.failed else 0


if __name__ == "__main__":
    sys.exit(main())
