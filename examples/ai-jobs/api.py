#!/usr/bin/python3
"""The HTTP API of the AI-jobs example: accepts jobs, queues them in Sluice,
serves their status and results.

    /usr/bin/python3 examples/ai-jobs/api.py [--port=8080] [--db=PATH]
                                             [--addresses=H:P,...]

  POST /jobs        body {"prompt": "...", "model": "...", ...}  (JSON)
                    optional header Idempotency-Key: <client-chosen string>
                    -> 202 {"job_id": ..., "status": "queued"}
                       200 {"job_id": ..., "duplicate": true} for a repeat
                       of an Idempotency-Key already accepted
  GET  /jobs/<id>   -> 200 {"job_id", "status", "result", "error", "attempts"}
                       status: queued | running | retrying | done | failed
  GET  /healthz     -> 200 when the store and the Sluice cluster answer

The API never waits for a job to run: it only sends a message to the queue
`jobs.fifo` and records the job in the store (store.py) that workers write
results to. Standard library (http.server) plus grpc.
"""
import argparse
import hashlib
import json
import pathlib
import re
import signal
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] /
                       "client" / "python"))
import sluice_client  # noqa: E402  (client/python)
from setup_queues import JOBS, ensure_queues  # noqa: E402
from sluice_client import SluiceClient, SluiceError, v1  # noqa: E402
from store import DEFAULT_DB, Store  # noqa: E402

queues_pb2, types_pb2 = v1.queues_pb2, v1.types_pb2

MAX_BODY_BYTES = 64 * 1024
JOB_ID = re.compile(r"^job-[0-9a-f]{32}$")


def log(message):
    print(f"api: {message}", file=sys.stderr, flush=True)


class JobError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def validate(job):
    """The job as the worker will get it; JobError(400) if malformed."""
    if not isinstance(job, dict):
        raise JobError(400, "body must be a JSON object")
    prompt = job.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise JobError(400, '"prompt" (non-empty string) is required')
    clean = {"prompt": prompt, "model": job.get("model", "tiny-llm")}
    if not isinstance(clean["model"], str) or not clean["model"]:
        raise JobError(400, '"model" must be a non-empty string')
    # Knobs for the demo: make the stand-in inference fail or run long.
    if "fail" in job:                      # fail every attempt
        if not isinstance(job["fail"], bool):
            raise JobError(400, '"fail" must be true or false')
        clean["fail"] = job["fail"]
    for knob in ("fail_times", "sleep_ms"):  # fail N attempts; fixed latency
        if knob in job:
            if not isinstance(job[knob], int) or isinstance(job[knob], bool) \
                    or not 0 <= job[knob] <= 600_000:
                raise JobError(400, f'"{knob}" must be an integer 0-600000')
            clean[knob] = job[knob]
    return clean


class Api:
    def __init__(self, client, store, send_retry_for=15.0):
        self.client = client
        self.store = store
        self.send_retry_for = send_retry_for
        self._partitions = None

    def submit(self, job, idempotency_key):
        """Returns (http status, response body)."""
        job = validate(job)
        fingerprint = hashlib.sha256(
            json.dumps(job, sort_keys=True).encode()).hexdigest()
        if idempotency_key:
            # The same key always names the same job, so a client that
            # retries its POST (timeout, crash) gets the first job back.
            job_id = "job-" + hashlib.sha256(
                idempotency_key.encode()).hexdigest()[:32]
            known = self.store.fingerprint(job_id)
            if known is not None:
                if known and known != fingerprint:
                    raise JobError(422, "Idempotency-Key already used for a "
                                   "different job")
                return 200, {"job_id": job_id, "duplicate": True,
                             "status": self.store.get(job_id)["status"]}
        else:
            job_id = "job-" + uuid.uuid4().hex
        message = dict(job, job_id=job_id, submitted_at=time.time())
        # The job id is the message's dedup id: if the Send's outcome is
        # unknown (UNAVAILABLE, timeout, leader change) and we send again,
        # or two POSTs with one key race past the store check above, the
        # queue keeps one message (within the queue's dedup_window).
        # It is also the message group: one group per job, so jobs never
        # wait for each other (a FIFO group has one message in flight).
        request = queues_pb2.SendRequest(queue_name=JOBS, entries=[
            queues_pb2.SendEntry(
                entry_id="job",
                body=json.dumps(message).encode(),
                group_id=job_id,
                dedup_id=job_id,
                # Attributes travel beside the body (filters, tracing, ...).
                attributes={"model": types_pb2.MessageAttributeValue(
                    string_value=job["model"])},
            )])
        # Straight to the leader of the job's partition (FIFO: by group id),
        # retried (also per entry) for up to send_retry_for seconds.
        partition = sluice_client.partition_for(job_id, self.partitions())
        result = self.client.call_entry("Send", request,
                                        route=(JOBS, partition),
                                        retry_for=self.send_retry_for)
        self.store.record_enqueued(job_id, job, fingerprint, result.message_id)
        log(f"{job_id} queued as message {result.message_id} (partition "
            f"{result.partition}{', duplicate' if result.duplicate else ''})")
        if result.duplicate:
            return 200, {"job_id": job_id, "duplicate": True,
                         "status": self.store.get(job_id)["status"]}
        return 202, {"job_id": job_id, "status": "queued"}

    def partitions(self):
        """The queue's partition count (GetQueue, which also tells the
        client every partition's leader), read once."""
        if not self._partitions:
            self._partitions = self.client.get_queue(
                JOBS).attributes.partition_count
        return self._partitions

    def status(self, job_id):
        job = self.store.get(job_id) if JOB_ID.match(job_id) else None
        if job is None:
            raise JobError(404, f"no job {job_id}")
        return 200, job

    def health(self):
        try:
            self.client.call("GetQueue",
                             queues_pb2.GetQueueRequest(queue_name=JOBS),
                             timeout=2, retry_for=3)
            self.store.get("job-health")
        except SluiceError as e:
            return 503, {"ok": False, "sluice": str(e)}
        return 200, {"ok": True, "sluice": "ok", "db": self.store.path}


class Handler(BaseHTTPRequestHandler):
    api = None  # set in main()
    protocol_version = "HTTP/1.1"
    server_version = "ai-jobs-api/1"

    def _reply(self, status, body, headers=None):
        data = (json.dumps(body, indent=1) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, action):
        try:
            status, body = action()
            self._reply(status, body)
        except JobError as e:
            self._reply(e.status, {"error": str(e)})
        except SluiceError as e:
            # Retried until send_retry_for ran out, or final. The client may
            # retry the POST with the same Idempotency-Key.
            retryable = e.code in (grpc.StatusCode.UNAVAILABLE,
                                   grpc.StatusCode.RESOURCE_EXHAUSTED,
                                   grpc.StatusCode.DEADLINE_EXCEEDED)
            log(f"{self.command} {self.path}: {e}")
            self._reply(503 if retryable else 500, {"error": str(e)},
                        {"Retry-After": "1"} if retryable else None)

    def do_POST(self):
        if self.path != "/jobs":
            return self._reply(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True   # the body stays unread
            return self._reply(413, {"error": "body too large"})
        raw = self.rfile.read(length)
        key = self.headers.get("Idempotency-Key", "").strip()
        if len(key) > 256:
            return self._reply(400, {"error": "Idempotency-Key too long"})

        def action():
            try:
                job = json.loads(raw or b"null")
            except ValueError as e:
                raise JobError(400, f"body is not JSON: {e}")
            return self.api.submit(job, key)

        self._handle(action)

    def do_GET(self):
        if self.path == "/healthz":
            return self._handle(self.api.health)
        match = re.fullmatch(r"/jobs/([^/]+)", self.path)
        if match:
            return self._handle(lambda: self.api.status(match.group(1)))
        self._reply(404, {"error": "not found"})

    def log_message(self, format, *args):
        log(f"{self.address_string()} {format % args}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080,
                        help="HTTP port; 0 picks a free one (printed)")
    parser.add_argument("--db", default=DEFAULT_DB,
                        help="SQLite job store shared with the workers")
    sluice_client.add_addresses_argument(parser, sluice_client.LOCAL_CLUSTER)
    args = parser.parse_args()

    client = SluiceClient.from_env(args.addresses, call_timeout=5, retry_for=20,
                          log=log)
    ensure_queues(client, log=log)
    Handler.api = Api(client, Store(args.db))
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True

    def stop(*_):
        raise KeyboardInterrupt
    # Ctrl-C and SIGTERM: stop serving, close the gRPC channels, exit 0.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    host, port = server.server_address[:2]
    # The first line on stdout: scripts (and the end-to-end test) read it.
    print(f"listening on http://{host}:{port}", flush=True)
    log(f"job store {Handler.api.store.path}; Sluice at "
        f"{','.join(client.addresses)}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
