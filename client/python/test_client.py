#!/usr/bin/python3
"""Tests of the Python examples against a live cluster.

    build/default/tests/integration/sluice-with-cluster -- \\
        /usr/bin/python3 client/python/test_client.py

Needs SLUICE_ADDRESSES (set by sluice-with-cluster). With --secure
(SLUICE_TLS_CA, SLUICE_TLS_CERT, SLUICE_TLS_KEY and SLUICE_TOKEN set) every
test runs over TLS with credentials, and SecureClusterTest checks
authentication too. Every wait polls with a deadline; the whole run is
bounded (faulthandler aborts it after 170 s).
"""
import faulthandler
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import uuid

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sluice_client  # noqa: E402
from consumer import StreamConsumer  # noqa: E402
from producer import Producer  # noqa: E402
from sluice_client import SluiceClient, SluiceError, v1  # noqa: E402

pb = v1.queues_pb2
ADDRESSES = os.environ.get("SLUICE_ADDRESSES", "")
# Set by sluice-with-cluster --secure: the cluster wants TLS and credentials.
SECURE = bool(os.environ.get("SLUICE_TLS_CA"))
DEAD_ADDRESS = "127.0.0.1:1"  # nothing listens there: connection refused
# Partitions of the queues the consumers read: several by default, so that
# streams poll across partitions (QueuesService::ReceiveFrom) and FIFO groups
# spread over them. SLUICE_TEST_PARTITIONS=1 tests the one-partition path
# (the stream then goes straight to the partition's leader).
PARTITIONS = int(os.environ.get("SLUICE_TEST_PARTITIONS", "3"))


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def run_in_thread(consumer):
    box = {}

    def target():
        try:
            box["stats"] = consumer.run()
        except BaseException as error:  # surfaced by finish()
            box["error"] = error
    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def finish(timeout=30):
        consumer.stop()
        thread.join(timeout)
        if thread.is_alive():
            raise AssertionError("consumer did not stop")
        if "error" in box:
            raise box["error"]
        return box["stats"]
    return finish


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(ADDRESSES, "SLUICE_ADDRESSES is not set; run under "
                                   "sluice-with-cluster")
        self.client = SluiceClient.from_env(ADDRESSES)

    def tearDown(self):
        self.client.close()

    def stats(self, queue):
        return self.client.call("GetQueueStats", pb.GetQueueStatsRequest(
            queue_name=queue)).counts

    def stored(self, queue):
        """Messages in the queue: visible, in flight or delayed."""
        c = self.stats(queue)
        return c.visible_count + c.in_flight_count + c.delayed_count

    def test_fifo_producer_and_consumer_cli(self):
        """The two programs as a user runs them: 300 messages in 7 groups
        arrive exactly once, each group in order."""
        queue = unique("py-cli") + ".fifo"
        count, groups = 300, 7
        env = dict(os.environ, SLUICE_ADDRESSES=ADDRESSES)
        producer = subprocess.run(
            [sys.executable, os.path.join(HERE, "producer.py"),
             "--queue", queue, "--count", str(count), "--groups", str(groups),
             "--partitions", str(PARTITIONS), "--batch", "40"],
            env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(producer.returncode, 0, producer.stderr)
        consumer = subprocess.run(
            [sys.executable, os.path.join(HERE, "consumer.py"),
             "--queue", queue, "--max", str(count), "--idle-exit", "20",
             "--prefetch", "20", "--concurrency", "4"],
            env=env, capture_output=True, text=True, timeout=90)
        self.assertEqual(consumer.returncode, 0, consumer.stderr)
        lines = [json.loads(line) for line in consumer.stdout.splitlines()]
        bodies = [m["body"] for m in lines]
        self.assertEqual(len(bodies), count, consumer.stderr)
        self.assertEqual(len(set(bodies)), count, "a message came twice")
        # Each was received once: receive_count is exact (leases are in the
        # partition's log), and no lease was lost.
        self.assertEqual([m for m in lines if m["receive_count"] != 1], [])
        per_group = {}
        for m in lines:  # stdout is in handling order
            _, group, index = m["body"].split()
            self.assertEqual(group, m["group_id"])
            per_group.setdefault(group, []).append(int(index))
        self.assertEqual(len(per_group), groups)
        for group, indexes in per_group.items():
            self.assertEqual(indexes, sorted(indexes), f"{group} out of order")
        self.assertEqual({m["partition"] for m in lines},
                         set(range(PARTITIONS)))
        wait_until(lambda: self.stored(queue) == 0, 20,
                   "every message deleted")

    def test_idempotent_producer_retry_is_not_duplicated(self):
        queue = unique("py-idem")
        self.client.create_queue(queue, partition_count=2)
        # The same request twice, as a retry after a lost answer sends it.
        request = pb.SendRequest(queue_name=queue, producer_id="p-" + queue)
        for i in range(5):
            request.entries.add(entry_id=f"e{i}", body=b"m%d" % i, partition=1)
        request.producer_sequences.add(partition=1, first_sequence=1)
        first = self.client.call("Send", request)
        again = self.client.call("Send", request)
        self.assertTrue(all(r.status.code == 0 for r in first.results))
        self.assertFalse(any(r.duplicate for r in first.results))
        self.assertTrue(all(r.duplicate for r in again.results))
        self.assertEqual([r.message_id for r in first.results],
                         [r.message_id for r in again.results])
        # The Producer class numbers per partition by itself.
        producer = Producer(self.client, queue, mode="idempotent",
                            batch_size=7)
        results = producer.send([(b"x%d" % i, "", "") for i in range(40)])
        self.assertEqual(len({r.message_id for r in results}), 40)
        self.assertEqual({r.partition for r in results}, {0, 1})
        self.assertEqual(producer.next_sequence, {0: 21, 1: 21})
        wait_until(lambda: self.stats(queue).visible_count == 45, 10,
                   "45 messages stored")

    def test_dedup_ids_drop_resends(self):
        """FIFO and standard queues alike (dedup ids on standard queues
        also route the message: the dedup id's partition)."""
        for name, groups in ((unique("py-dedup") + ".fifo", 3),
                             (unique("py-dedup-std"), 0)):
            with self.subTest(queue=name):
                self.client.create_queue(name, partition_count=PARTITIONS)
                producer = Producer(self.client, name, mode="dedup")
                messages = [(b"f%d" % i, f"g{i % groups}" if groups else "",
                             f"d{i}") for i in range(30)]
                sent = producer.send(messages)
                self.assertFalse(any(r.duplicate for r in sent))
                resent = producer.send(messages)  # same dedup ids: dropped
                self.assertTrue(all(r.duplicate for r in resent))
                self.assertEqual([r.message_id for r in sent],
                                 [r.message_id for r in resent])
                if not groups:
                    self.assertEqual(
                        [r.partition for r in sent],
                        [sluice_client.partition_for(f"d{i}", PARTITIONS)
                         for i in range(30)])
                wait_until(lambda: self.stats(name).visible_count == 30, 10,
                           "30 messages stored")

    def test_standard_queue_and_reconnect(self):
        """Standard queue; the clients are pointed at a dead node first, so
        both retry elsewhere (the consumer reconnects)."""
        queue = unique("py-std")
        self.client.create_queue(queue, partition_count=PARTITIONS)
        client = SluiceClient.from_env([DEAD_ADDRESS] + ADDRESSES.split(","))
        client._preferred = DEAD_ADDRESS
        try:
            producer = Producer(client, queue)
            producer.send([(b"s%d" % i, "", "") for i in range(200)])

            seen = []
            lock = threading.Lock()

            def handle(message):
                with lock:
                    seen.append(message)
            consumer = StreamConsumer(client, queue, handle, prefetch=50,
                                      concurrency=4, max_messages=200,
                                      address=DEAD_ADDRESS)
            stats = consumer.run()
        finally:
            client.close()
        self.assertGreaterEqual(stats["reconnects"], 1)
        self.assertEqual(sorted(m.body for m in seen),
                         sorted(b"s%d" % i for i in range(200)))
        self.assertEqual([(m.partition, m.sequence_number, m.receive_count)
                          for m in seen if m.receive_count != 1], [])
        self.assertEqual({m.partition for m in seen}, set(range(PARTITIONS)))
        self.assertEqual(stats["failed_items"], 0)
        wait_until(lambda: self.stored(queue) == 0, 20,
                   "every message deleted")

    def _slow_handler_run(self, extend):
        """One message whose handler takes 2.5 visibility timeouts."""
        queue = unique("py-lease")
        self.client.create_queue(queue, visibility_timeout=2)
        Producer(self.client, queue).send([(b"slow", "", "")])
        calls, done = [], threading.Event()

        def handle(message):
            calls.append(message.receive_count)
            if message.receive_count == 1:
                time.sleep(5)
            if len(calls) >= (1 if extend else 2):
                done.set()
        # Spare credit and a free thread: a lapsed lease would bring the
        # message back to this very consumer while the first call runs.
        consumer = StreamConsumer(self.client, queue, handle, prefetch=4,
                                  concurrency=2, extend=extend)
        finish = run_in_thread(consumer)
        self.assertTrue(done.wait(40), "handler calls missing")
        wait_until(lambda: self.stored(queue) == 0, 20, "the message deleted")
        stats = finish()
        return queue, calls, stats

    def test_long_handler_keeps_its_lease(self):
        queue, calls, stats = self._slow_handler_run(extend=True)
        self.assertEqual(calls, [1], "the message was delivered again")
        self.assertGreaterEqual(stats["extended"], 2)
        self.assertEqual(stats["failed_items"], 0)

    def test_without_extension_the_lease_runs_out(self):
        """The control for the test above: same timing, no extension."""
        queue, calls, stats = self._slow_handler_run(extend=False)
        # Delivered again while the first call still ran. (The late ack of
        # the first call finds the message deleted by the second: OK.)
        self.assertEqual(sorted(calls), [1, 2])
        self.assertEqual(stats["extended"], 0)

    def test_failing_handler_nacks_until_dead_letter_queue(self):
        dlq = unique("py-dlq")
        queue = unique("py-src")
        self.client.create_queue(dlq)
        self.client.create_queue(queue, redrive_policy=dict(
            dead_letter_queue_name=dlq, max_receive_count=3))
        Producer(self.client, queue).send(
            [(b"ok-%d" % i, "", "") for i in range(5)] + [(b"poison", "", "")])
        handled, poison_attempts = [], []

        def handle(message):
            if message.body == b"poison":
                poison_attempts.append(message.receive_count)
                raise RuntimeError("cannot handle this one")
            handled.append(message.body)
        consumer = StreamConsumer(self.client, queue, handle, prefetch=8,
                                  concurrency=2, nack_delay=0)
        finish = run_in_thread(consumer)
        try:
            def dead_letter():
                r = self.client.call("Receive", pb.ReceiveRequest(
                    queue_name=dlq, max_messages=10,
                    wait_time=sluice_client.duration(1)))
                return list(r.messages)
            moved = wait_until(dead_letter, 40, "the message in the DLQ")
        finally:
            stats = finish()
        self.assertEqual(len(moved), 1)
        m = moved[0]
        self.assertEqual(m.body, b"poison")
        self.assertEqual(m.dead_letter_source.source_queue_name, queue)
        self.assertEqual(m.dead_letter_source.source_receive_count, 3)
        self.assertEqual(m.dead_letter_source.reason,
                         v1.types_pb2.DEAD_LETTER_REASON_MAX_RECEIVE_COUNT)
        self.assertEqual(poison_attempts, [1, 2, 3])
        self.assertEqual(sorted(handled), [b"ok-%d" % i for i in range(5)])
        self.assertEqual(stats["nacked"], 3)
        self.assertEqual(stats["failed_items"], 0)
        self.client.call("Delete", pb.DeleteRequest(queue_name=dlq, entries=[
            pb.DeleteEntry(entry_id="e0", receipt_handle=m.receipt_handle)]))
        wait_until(lambda: self.stored(queue) == 0, 10, "source queue empty")
        wait_until(lambda: self.stored(dlq) == 0, 10, "DLQ empty")

    def test_errors_are_reported_not_retried(self):
        with self.assertRaises(SluiceError) as caught:
            self.client.call("GetQueue", pb.GetQueueRequest(
                queue_name=unique("py-missing")))
        self.assertEqual(caught.exception.reason, "QUEUE_NOT_FOUND")
        queue = unique("py-attrs")
        self.client.create_queue(queue, visibility_timeout=5)
        self.client.create_queue(queue, visibility_timeout=5)  # idempotent
        with self.assertRaises(SluiceError) as caught:
            self.client.create_queue(queue, visibility_timeout=6)
        self.assertEqual(caught.exception.reason,
                         "QUEUE_EXISTS_WITH_DIFFERENT_ATTRIBUTES")


class SecuritySettingsTest(unittest.TestCase):
    """Settings that would send credentials in the clear, or cannot work,
    are refused before anything is sent (no cluster needed)."""

    def test_credentials_need_tls(self):
        for settings in (dict(token="t"),
                         dict(tls_cert="c.pem", tls_key="c.key"),
                         dict(tls_cert="c.pem", tls_key="c.key", token="t")):
            with self.subTest(**settings), \
                    self.assertRaisesRegex(ValueError, "SLUICE_TLS_CA"):
                SluiceClient(DEAD_ADDRESS, **settings)

    def test_certificate_and_key_come_together(self):
        for settings in (dict(tls_cert="c.pem"), dict(tls_key="c.key")):
            with self.subTest(**settings), \
                    self.assertRaisesRegex(ValueError, "set both"):
                SluiceClient(DEAD_ADDRESS, tls_ca="ca.pem", **settings)

    def test_unreadable_file_is_named(self):
        with self.assertRaisesRegex(ValueError, "tls_ca .*no-such-ca.pem"):
            SluiceClient(DEAD_ADDRESS, tls_ca="/no-such-ca.pem")

    def test_environment(self):
        self.assertEqual(sluice_client.security_from_env({
            "SLUICE_TLS_CA": "ca.pem", "SLUICE_TLS_CERT": "",
            "SLUICE_TOKEN": " secret\n"}),
            dict(tls_ca="ca.pem", tls_cert=None, tls_key=None,
                 token="secret"))


@unittest.skipUnless(SECURE, "plaintext cluster (run under sluice-with-"
                             "cluster --secure)")
class SecureClusterTest(unittest.TestCase):
    """Against sluice-with-cluster --secure: a client needs a token or a
    client certificate (the environment has both; each is tried alone)."""

    def client(self, **credentials):
        client = SluiceClient(ADDRESSES, retry_for=20,
                              tls_ca=os.environ["SLUICE_TLS_CA"],
                              **credentials)
        self.addCleanup(client.close)
        return client

    def test_without_valid_credentials_calls_are_refused(self):
        for name, credentials in (("none", {}),
                                  ("wrong token", dict(token="not-it"))):
            with self.subTest(name), \
                    self.assertRaises(SluiceError) as caught:
                self.client(**credentials).call(
                    "ListQueues", pb.ListQueuesRequest())
            self.assertEqual(caught.exception.code,
                             grpc.StatusCode.UNAUTHENTICATED)

    def round_trip(self, client):
        """Send, Receive, Delete; then the same over StreamReceive, which
        must carry the credentials as well."""
        queue = unique("py-secure")
        client.create_queue(queue)
        Producer(client, queue).send([(b"unary", "", "")])
        received = wait_until(lambda: list(client.call(
            "Receive", pb.ReceiveRequest(
                queue_name=queue, max_messages=1,
                wait_time=sluice_client.duration(1))).messages),
            10, "the message received")
        self.assertEqual([m.body for m in received], [b"unary"])
        client.call_entry("Delete", pb.DeleteRequest(
            queue_name=queue, entries=[pb.DeleteEntry(
                entry_id="e0", receipt_handle=received[0].receipt_handle)]))
        Producer(client, queue).send([(b"streamed", "", "")])
        seen = []
        stats = StreamConsumer(client, queue, seen.append, max_messages=1,
                               idle_exit=20).run()
        self.assertEqual([m.body for m in seen], [b"streamed"])
        self.assertEqual(stats["failed_items"], 0)

        def empty():
            c = client.call("GetQueueStats", pb.GetQueueStatsRequest(
                queue_name=queue)).counts
            return c.visible_count + c.in_flight_count == 0
        wait_until(empty, 10, "both messages deleted")

    def test_token(self):
        self.round_trip(self.client(token=os.environ["SLUICE_TOKEN"]))

    def test_client_certificate(self):
        self.round_trip(self.client(tls_cert=os.environ["SLUICE_TLS_CERT"],
                                    tls_key=os.environ["SLUICE_TLS_KEY"]))


if __name__ == "__main__":
    faulthandler.dump_traceback_later(170, exit=True)
    unittest.main(verbosity=2)
