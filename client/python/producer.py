#!/usr/bin/python3
"""Sluice producer example: creates a queue if needed and sends messages.

    producer.py --queue jobs --count 1000
    producer.py --queue orders --fifo --groups 8 --count 1000
    producer.py --queue jobs --mode dedup --count 100

A cluster with TLS and authentication takes $SLUICE_TLS_CA plus
$SLUICE_TOKEN or a client certificate ($SLUICE_TLS_CERT, $SLUICE_TLS_KEY),
as `sluice` does (SluiceClient.from_env).

Sends are exactly-once across retries, in one of two ways:

- --mode idempotent (default): an idempotent producer (SendRequest.
  producer_id). The producer picks a random id once and numbers the entries
  it sends to each partition 1, 2, 3, ... A retry of a request whose outcome
  is unknown (timeout, node down, leader change) carries the same numbers, so
  the partition recognises what it already applied. Every entry names its
  partition: FIFO by hashing its group id (XXH64, see sluice_client.py);
  standard round robin. One request per partition is outstanding at a time.
- --mode dedup: every message carries a dedup id (here "<run id>-<index>");
  the queue drops a second send of the same id within its dedup window.
  FIFO queues require dedup ids anyway (unless content_based_dedup), so on
  a FIFO queue the idempotent mode sets them too.

Each request goes to the leader of its partition (from GetQueue's routes and
the `sluice-leader` hints), and failures worth retrying are retried with
backoff on another node (sluice_client.SluiceClient.call_batch).
"""
import argparse
import itertools
import sys
import time
import uuid

import sluice_client
from sluice_client import SluiceClient, SluiceError, v1

MAX_BATCH = 100  # entries per Send (the server's limit)


class Producer:
    """Sends messages to one queue, exactly once across retries."""

    def __init__(self, client, queue_name, mode="idempotent", batch_size=50):
        assert mode in ("idempotent", "dedup")
        assert 1 <= batch_size <= MAX_BATCH
        self.client = client
        self.queue_name = queue_name
        self.mode = mode
        self.batch_size = batch_size
        queue = client.get_queue(queue_name)  # also learns partition leaders
        self.fifo = queue.type == v1.types_pb2.QUEUE_TYPE_FIFO
        self.partitions = queue.attributes.partition_count
        # Idempotent producer state: a fresh id per producer instance, and
        # the next sequence number per partition.
        self.producer_id = uuid.uuid4().hex
        self.next_sequence = {}
        self._round_robin = itertools.cycle(range(self.partitions))
        self.run_id = uuid.uuid4().hex[:12]  # prefix of generated dedup ids
        self.sent = 0
        self.duplicates = 0

    def partition_of(self, entry):
        """The partition an entry goes to. FIFO: its group's partition (the
        server refuses any other one: WRONG_PARTITION). Standard: round
        robin (with a dedup id, the dedup id's partition)."""
        if self.fifo:
            return sluice_client.partition_for(entry.group_id, self.partitions)
        if entry.dedup_id:
            return sluice_client.partition_for(entry.dedup_id, self.partitions)
        return next(self._round_robin)

    def send(self, messages):
        """Sends `messages`, a list of (body bytes, group id or "", dedup id
        or ""); returns their SendResults in order. Raises SluiceError for
        an entry that fails for good."""
        entries = []
        for i, (body, group, dedup) in enumerate(messages):
            # FIFO queues require a dedup id (unless content_based_dedup).
            if (self.mode == "dedup" or self.fifo) and not dedup:
                dedup = f"{self.run_id}-{self.sent + i}"
            entries.append(v1.queues_pb2.SendEntry(
                entry_id=f"e{i}", body=body, group_id=group, dedup_id=dedup))
        # Batch per partition, keeping each partition's send order.
        by_partition = {}
        for index, entry in enumerate(entries):
            by_partition.setdefault(self.partition_of(entry), []).append(
                (index, entry))
        results = [None] * len(entries)
        for partition, items in by_partition.items():
            for start in range(0, len(items), self.batch_size):
                chunk = items[start:start + self.batch_size]
                try:
                    chunk_results = self._send_chunk(partition, chunk)
                except SluiceError:
                    if self.mode == "idempotent":
                        # Gave up with the outcome possibly unknown: the
                        # numbers used may or may not be applied, so they
                        # can never stand for other messages. Start over as
                        # a new producer (a resend of these messages by the
                        # caller may then duplicate them).
                        self.producer_id = uuid.uuid4().hex
                        self.next_sequence = {}
                    raise
                for (index, _), result in zip(chunk, chunk_results):
                    results[index] = result
        self.sent += len(entries)
        self.duplicates += sum(r.duplicate for r in results)
        return results

    def _send_chunk(self, partition, chunk):
        request = v1.queues_pb2.SendRequest(queue_name=self.queue_name)
        for i, (_, entry) in enumerate(chunk):
            e = request.entries.add()
            e.CopyFrom(entry)
            e.entry_id = f"e{i}"
            e.partition = partition
        if self.mode == "idempotent":
            request.producer_id = self.producer_id
            request.producer_sequences.add(
                partition=partition,
                first_sequence=self.next_sequence.get(partition, 1))
        # Retried until every entry succeeded (client.call_batch). Idempotent
        # mode resends the very same entries with the same numbers (a
        # partition applies them all or none, and an applied retry answers
        # duplicate=true); dedup mode resends the entries that failed, with
        # their dedup ids.
        results = self.client.call_batch(
            "Send", request, route=(self.queue_name, partition))
        for result in results:
            if result.status.code != sluice_client.OK:
                raise SluiceError.from_entry_status(result.status)
        if self.mode == "idempotent":
            self.next_sequence[partition] = \
                self.next_sequence.get(partition, 1) + len(chunk)
        return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sluice_client.add_addresses_argument(parser)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--fifo", action="store_true",
                        help="FIFO queue (adds the .fifo suffix if missing)")
    parser.add_argument("--groups", type=int, default=0,
                        help="spread messages over this many message groups "
                             "(FIFO: default 4)")
    parser.add_argument("--partitions", type=int, default=0,
                        help="partition count if the queue is created "
                             "(default: the server's)")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--batch", type=int, default=50,
                        help="entries per Send (1-100)")
    parser.add_argument("--mode", choices=["idempotent", "dedup"],
                        default="idempotent")
    parser.add_argument("--prefix", default="message",
                        help="bodies are '<prefix> <group> <index>'")
    args = parser.parse_args(argv)

    queue = args.queue
    if args.fifo and not queue.endswith(".fifo"):
        queue += ".fifo"
    fifo = queue.endswith(".fifo")
    groups = args.groups or (4 if fifo else 0)

    try:
        client = SluiceClient.from_env(args.addresses)
    except ValueError as error:  # no addresses, or bad TLS settings
        parser.error(str(error))
    attributes = {}
    if args.partitions:
        attributes["partition_count"] = args.partitions
    try:
        client.create_queue(queue, **attributes)
        producer = Producer(client, queue, mode=args.mode,
                            batch_size=args.batch)
        started = time.monotonic()
        for first in range(0, args.count, MAX_BATCH):
            batch = []
            for i in range(first, min(args.count, first + MAX_BATCH)):
                group = f"g{i % groups}" if groups else ""
                body = f"{args.prefix} {group or '-'} {i}".encode()
                batch.append((body, group, ""))
            producer.send(batch)
        elapsed = time.monotonic() - started
    except SluiceError as error:
        print(f"producer: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"producer: sent {producer.sent} messages to {queue} "
          f"({producer.duplicates} duplicates, {client.retries} retries) "
          f"in {elapsed:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
