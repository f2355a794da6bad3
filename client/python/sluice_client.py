"""Connection handling shared by the Python clients (producer.py, consumer.py)
and the examples built on them (examples/ai-jobs).

What a Sluice client has to get right, in one small module:

- Any node serves every RPC, so a client is configured with a list of
  addresses and may use any of them. A node that does not lead the partition
  a request concerns forwards it; the answer then carries the leader's
  address in the trailing metadata `sluice-leader`, and a smart client sends
  the next request for that partition there directly (one hop less).
- UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED and RESOURCE_EXHAUSTED are worth
  retrying, with jittered exponential backoff, on another node (or the
  leader named by `sluice-leader`), and not before `sluice-retry-after-ms`.
  The outcome of a failed write is unknown, so writes must be idempotent when
  retried: dedup ids or an idempotent producer (see producer.py).
- Batch calls (Send, Delete, ChangeVisibility) answer OK and report those
  codes per entry (EntryStatus); call_batch() and call_entry() retry the
  entries that failed that way.
- Every other code (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ...)
  means "do not retry unchanged".
- A cluster may run with TLS and authentication: the client then trusts
  the nodes' CA and proves who it is with a bearer token (sent on every
  call, streams included) or a client certificate. A token or certificate
  is never sent without TLS.

Usage:
    client = SluiceClient(["127.0.0.1:7101", "127.0.0.1:7102"])
    # or, from $SLUICE_ADDRESSES, $SLUICE_TLS_CA, $SLUICE_TLS_CERT,
    # $SLUICE_TLS_KEY and $SLUICE_TOKEN:
    client = SluiceClient.from_env()
    response = client.call("GetQueue", client.v1.queues_pb2.GetQueueRequest(
        queue_name="jobs"))
    result = client.call_entry("Send", client.v1.queues_pb2.SendRequest(
        queue_name="jobs", entries=[...one entry...]))
"""
import os
import random
import sys
import threading
import time

import grpc
from google.protobuf import duration_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_stubs  # noqa: E402  (generates the stubs from proto/ on first use)

v1 = sluice_stubs.load()

# Codes after which the same request may be sent again. For writes the
# outcome is unknown; the request must be idempotent (dedup id, producer
# sequence numbers, or an operation that is idempotent anyway like Delete).
RETRYABLE = frozenset({
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
})
# The same set as google.rpc.Code numbers, for EntryStatus.code.
RETRYABLE_ENTRY_CODES = frozenset(c.value[0] for c in RETRYABLE)
OK = 0


class SluiceError(Exception):
    """A failed call or entry: the gRPC code plus Sluice's error details."""

    def __init__(self, code, message, reason="", field="", metadata=None):
        super().__init__(f"{code.name if hasattr(code, 'name') else code}"
                         f"{' ' + reason if reason else ''}: {message}")
        self.code = code          # grpc.StatusCode
        self.message = message
        self.reason = reason      # e.g. "RECEIPT_HANDLE_STALE", may be ""
        self.field = field        # INVALID_ARGUMENT: offending field path
        self.metadata = metadata or {}

    @classmethod
    def from_rpc_error(cls, error):
        md = trailing_dict(error)
        return cls(error.code(), error.details() or "",
                   md.get("sluice-error-reason", ""),
                   md.get("sluice-error-field", ""), md)

    @classmethod
    def from_entry_status(cls, status):
        reason = v1.types_pb2.ErrorReason.Name(status.reason) \
            if status.reason in v1.types_pb2.ErrorReason.values() else ""
        return cls(grpc_code(status.code), status.message,
                   reason.replace("ERROR_REASON_", ""), status.field)


def grpc_code(number):
    """google.rpc.Code number (EntryStatus.code) -> grpc.StatusCode."""
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


def trailing_dict(call):
    """Trailing metadata of a finished call (or RpcError) as a dict."""
    try:
        return {k: v for k, v in (call.trailing_metadata() or ())}
    except Exception:  # the call never reached a server
        return {}


def duration(seconds):
    """A google.protobuf.Duration from (fractional) seconds."""
    d = duration_pb2.Duration()
    d.FromMilliseconds(int(round(seconds * 1000)))
    return d


def backoff_delay(attempt, retry_after_ms=None, base=0.05, cap=2.0):
    """Exponential backoff with jitter ("equal jitter": half fixed, half
    random, so retries of many clients spread out), at least the server's
    retry hint."""
    ceiling = min(cap, base * (2 ** attempt))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after_ms:
        delay = max(delay, int(retry_after_ms) / 1000.0)
    return delay


# ---------------------------------------------------------------------------
# XXH64, the partition routing function (Queue.partition_routing = XXH64):
# partition = XXH64(UTF-8 key, seed 0) mod partition_count, where the key is
# the group id (FIFO) or the dedup id (standard queues).
# ---------------------------------------------------------------------------
_P1, _P2, _P3 = 11400714785074694791, 14029467366897019727, 1609587929392839161
_P4, _P5 = 9650029242287828579, 2870177450012600261
_M = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc, lane):
    return (_rotl((acc + lane * _P2) & _M, 31) * _P1) & _M


def xxh64(data, seed=0):
    if isinstance(data, str):
        data = data.encode("utf-8")
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M, (seed + _P2) & _M, seed, (seed - _P1) & _M]
        while i + 32 <= n:
            for lane in range(4):
                v[lane] = _round(v[lane], int.from_bytes(
                    data[i + 8 * lane:i + 8 * lane + 8], "little"))
            i += 32
        acc = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) +
               _rotl(v[3], 18)) & _M
        for lane in v:
            acc = ((acc ^ _round(0, lane)) * _P1 + _P4) & _M
    else:
        acc = (seed + _P5) & _M
    acc = (acc + n) & _M
    while i + 8 <= n:
        acc ^= _round(0, int.from_bytes(data[i:i + 8], "little"))
        acc = (_rotl(acc, 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        acc ^= (int.from_bytes(data[i:i + 4], "little") * _P1) & _M
        acc = (_rotl(acc, 23) * _P2 + _P3) & _M
        i += 4
    while i < n:
        acc ^= (data[i] * _P5) & _M
        acc = (_rotl(acc, 11) * _P1) & _M
        i += 1
    acc ^= acc >> 33
    acc = (acc * _P2) & _M
    acc ^= acc >> 29
    acc = (acc * _P3) & _M
    return acc ^ (acc >> 32)


def partition_for(key, partition_count):
    """The partition a routing key (FIFO group id, standard dedup id) maps to."""
    return xxh64(key) % partition_count


# ---------------------------------------------------------------------------
# TLS and authentication
# ---------------------------------------------------------------------------
# The settings' environment variables, as the C++ library and `sluice` read
# them.
SECURITY_ENV = {
    "tls_ca": "SLUICE_TLS_CA",
    "tls_cert": "SLUICE_TLS_CERT",
    "tls_key": "SLUICE_TLS_KEY",
    "token": "SLUICE_TOKEN",
}


def security_from_env(environ=None):
    """SluiceClient's tls_ca, tls_cert, tls_key and token keyword arguments
    from $SLUICE_TLS_CA, $SLUICE_TLS_CERT, $SLUICE_TLS_KEY and $SLUICE_TOKEN
    (unset or empty: None)."""
    environ = os.environ if environ is None else environ
    return {arg: environ.get(var, "").strip() or None
            for arg, var in SECURITY_ENV.items()}


def _read_pem(setting, path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise ValueError(f"{setting} ({SECURITY_ENV[setting]}): cannot read "
                         f"{path!r}: {error.strerror}") from None
    if not data.strip():
        raise ValueError(f"{setting} ({SECURITY_ENV[setting]}): {path!r} is "
                         "empty")
    return data


def channel_credentials(tls_ca=None, tls_cert=None, tls_key=None,
                        token=None):
    """grpc.ChannelCredentials for the settings, or None for plaintext (no
    CA). tls_ca, tls_cert, tls_key: PEM file paths; token: a bearer token.
    Raises ValueError for a token or certificate without a CA (they would
    travel in the clear), a certificate without its key or the other way
    round, or a file that cannot be read."""
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("tls_cert and tls_key (SLUICE_TLS_CERT, "
                         "SLUICE_TLS_KEY): set both (a client certificate) "
                         "or neither")
    if not tls_ca:
        if tls_cert or token:
            raise ValueError("tls_ca (SLUICE_TLS_CA): required with a token "
                             "or a client certificate (they are sent only "
                             "over TLS)")
        return None
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read_pem("tls_ca", tls_ca),
        private_key=_read_pem("tls_key", tls_key) if tls_key else None,
        certificate_chain=_read_pem("tls_cert", tls_cert) if tls_cert
        else None)
    if token:
        # Call credentials composed into the channel's: gRPC adds
        # "authorization: Bearer <token>" to every call on the channel,
        # unary and streaming alike.
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token))
    return credentials


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------
class SluiceClient:
    """Channels to the cluster's nodes, retries and leader routing.

    addresses: "host:port" of some nodes (any node will do; more than one so
    that a node being down is not an outage for the client).
    tls_ca: PEM file of the CA the nodes' certificates chain to; turns TLS
    on (default: plaintext). tls_cert, tls_key: a client certificate and
    its key (PEM files), whose common name is the client's principal.
    token: a bearer token. A token or certificate needs tls_ca (ValueError
    otherwise). from_env() takes all of these from the environment.
    """

    def __init__(self, addresses, call_timeout=10.0, retry_for=60.0,
                 log=None, tls_ca=None, tls_cert=None, tls_key=None,
                 token=None):
        if isinstance(addresses, str):
            addresses = addresses.split(",")
        addresses = [a.strip() for a in addresses if a.strip()]
        if not addresses:
            raise ValueError("no addresses (set --addresses or "
                             "SLUICE_ADDRESSES)")
        # Read and checked now, so a bad setting fails here and not as an
        # UNAVAILABLE retried for retry_for seconds.
        self._credentials = channel_credentials(tls_ca, tls_cert, tls_key,
                                                token)
        self.v1 = v1
        self.addresses = addresses
        self.call_timeout = call_timeout  # per attempt
        self.retry_for = retry_for        # total time spent retrying
        self.retries = 0                  # calls and entries sent again
        self._log = log or (lambda message: None)  # told of every retry
        self._lock = threading.Lock()
        self._channels = {}
        self._preferred = random.choice(self.addresses)  # spread clients
        # (queue, partition) -> address of its leader, from GetQueue routes
        # and `sluice-leader` hints.
        self._leaders = {}

    @classmethod
    def from_env(cls, addresses=None, **options):
        """A client configured like the `sluice` CLI: addresses from
        $SLUICE_ADDRESSES unless given, TLS and credentials from
        security_from_env(). Keyword arguments win over the environment."""
        if addresses is None:
            addresses = default_addresses()
        return cls(addresses, **{**security_from_env(), **options})

    def close(self):
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()

    def channel(self, address):
        with self._lock:
            ch = self._channels.get(address)
            if ch is None:
                if self._credentials is None:
                    ch = grpc.insecure_channel(address)
                else:
                    ch = grpc.secure_channel(address, self._credentials)
                self._channels[address] = ch
            return ch

    def queues(self, address):
        return v1.queues_pb2_grpc.QueuesStub(self.channel(address))

    def cluster(self, address):
        return v1.cluster_pb2_grpc.ClusterStub(self.channel(address))

    @property
    def preferred(self):
        return self._preferred

    def next_address(self, failed):
        """Another configured address than `failed` (round robin)."""
        with self._lock:
            if failed in self.addresses:
                i = (self.addresses.index(failed) + 1) % len(self.addresses)
            else:
                i = random.randrange(len(self.addresses))
            self._preferred = self.addresses[i]
            return self._preferred

    def leader_of(self, queue, partition):
        with self._lock:
            return self._leaders.get((queue, partition))

    def set_leader(self, queue, partition, address):
        with self._lock:
            if address:
                self._leaders[(queue, partition)] = address
            else:
                self._leaders.pop((queue, partition), None)

    def call(self, method, request, route=None, service="queues",
             retry_for=None, timeout=None):
        """Calls `method` with retries. route: (queue, partition) the request
        concerns, if it concerns one; it is then sent to that partition's
        leader when known. retry_for: seconds to keep retrying (default
        self.retry_for); timeout: seconds per attempt (default
        self.call_timeout). Returns the response; raises SluiceError."""
        deadline = time.monotonic() + (
            self.retry_for if retry_for is None else retry_for)
        address = (self.leader_of(*route) if route else None) \
            or self._preferred
        attempt = 0
        while True:
            stub = (self.queues if service == "queues" else self.cluster)(
                address)
            try:
                timeout_now = max(0.1, min(timeout or self.call_timeout,
                                           deadline - time.monotonic()))
                response, call = getattr(stub, method).with_call(
                    request, timeout=timeout_now)
                if route:
                    # Set when the node forwarded: go direct next time.
                    hint = trailing_dict(call).get("sluice-leader")
                    if hint:
                        self.set_leader(route[0], route[1], hint)
                return response
            except grpc.RpcError as error:
                md = trailing_dict(error)
                if error.code() not in RETRYABLE or \
                        time.monotonic() >= deadline:
                    raise SluiceError.from_rpc_error(error) from None
                hint = md.get("sluice-leader")
                if route:
                    self.set_leader(route[0], route[1], hint)
                failed = address
                # Try the named leader, else another node.
                address = hint or self.next_address(address)
                delay = backoff_delay(attempt, md.get("sluice-retry-after-ms"))
                attempt += 1
                self.retries += 1
                self._log(f"{method} via {failed}: {error.code().name}; "
                          f"retrying in {delay:.2f}s via {address}")
                time.sleep(max(0.0, min(delay, deadline - time.monotonic())))

    def call_batch(self, method, request, route=None, retry_for=None,
                   timeout=None):
        """A batch call (Send, Delete, ChangeVisibility) with retries: besides
        what call() retries, entries whose EntryStatus is retryable are sent
        again (only those, after a backoff, not before their retry_after)
        until retry_for has passed. Returns the results in entry order;
        entries that failed for good keep their error status.

        Safe for Delete and ChangeVisibility (idempotent) and for Send with
        dedup ids or as an idempotent producer: a partition applies an
        idempotent producer's entries all or none, so the entries sent again
        are all of that partition's, with the same numbers."""
        deadline = time.monotonic() + (
            self.retry_for if retry_for is None else retry_for)
        results = {}
        pending, attempt = request, 0
        while True:
            response = self.call(
                method, pending, route=route, timeout=timeout,
                retry_for=max(0.1, deadline - time.monotonic()))
            retry = []
            for entry, result in zip(pending.entries, response.results):
                results[entry.entry_id] = result
                if result.status.code in RETRYABLE_ENTRY_CODES:
                    retry.append(entry)
            if not retry:
                break
            status = results[retry[0].entry_id].status
            if route and status.leader_address:
                self.set_leader(route[0], route[1], status.leader_address)
            delay = backoff_delay(attempt, status.retry_after.ToMilliseconds()
                                  if status.HasField("retry_after") else None)
            if time.monotonic() + delay >= deadline:
                break
            attempt += 1
            self.retries += 1
            self._log(f"{method}: {len(retry)} entries failed "
                      f"({grpc_code(status.code).name}); retrying in "
                      f"{delay:.2f}s")
            time.sleep(delay)
            pending = type(request)()
            pending.CopyFrom(request)
            del pending.entries[:]
            pending.entries.extend(retry)
        return [results[e.entry_id] for e in request.entries]

    def call_entry(self, method, request, route=None, retry_for=None,
                   timeout=None):
        """call_batch() for a request with one entry: returns its result, or
        raises SluiceError if it failed for good."""
        result = self.call_batch(method, request, route=route,
                                 retry_for=retry_for, timeout=timeout)[0]
        if result.status.code != OK:
            raise SluiceError.from_entry_status(result.status)
        return result

    # -- queue helpers ---------------------------------------------------------
    def get_queue(self, name):
        """GetQueue; also records each partition's current leader."""
        r = self.call("GetQueue", v1.queues_pb2.GetQueueRequest(
            queue_name=name))
        for route in r.partition_routes:
            self.set_leader(name, route.partition, route.leader_address)
        return r.queue

    def create_queue(self, name, **attributes):
        """CreateQueue, idempotent: returns the queue whether this call
        created it or it already existed with the same attributes (a queue
        with other attributes raises ALREADY_EXISTS)."""
        request = v1.queues_pb2.CreateQueueRequest(queue_name=name)
        for key, value in attributes.items():
            if isinstance(value, (int, float)) and key in (
                    "visibility_timeout", "delivery_delay",
                    "message_retention", "receive_wait_time", "dedup_window"):
                getattr(request.attributes, key).CopyFrom(duration(value))
            elif key == "redrive_policy":
                request.attributes.redrive_policy.CopyFrom(
                    v1.types_pb2.RedrivePolicy(**value))
            else:
                setattr(request.attributes, key, value)
        # CreateQueue waits for the partitions' leaders; allow it time.
        return self.call("CreateQueue", request).queue


# scripts/cluster up starts node N with gRPC on 127.0.0.1:710N.
LOCAL_CLUSTER = "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103"


def default_addresses(fallback=""):
    """$SLUICE_ADDRESSES, else `fallback` (e.g. LOCAL_CLUSTER)."""
    return os.environ.get("SLUICE_ADDRESSES") or fallback


def add_addresses_argument(parser, fallback=""):
    """The --addresses flag every command-line program here takes."""
    parser.add_argument(
        "--addresses", default=default_addresses(fallback),
        help="comma-separated host:port of some nodes (default: "
             "$SLUICE_ADDRESSES" + (f", else {fallback}" if fallback else "")
             + ")")
