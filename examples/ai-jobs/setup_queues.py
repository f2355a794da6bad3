#!/usr/bin/python3
"""Creates the example's queues, idempotently: `jobs.fifo` and its
dead-letter queue `jobs-dlq.fifo`.

    /usr/bin/python3 examples/ai-jobs/setup_queues.py [--addresses=H:P,...]

api.py and worker.py call ensure_queues() at start-up too, so running this
by hand is optional. CreateQueue is idempotent (same attributes -> OK); if a
queue exists with other attributes (ALREADY_EXISTS), the mutable ones are
brought in line with UpdateQueue.
"""
import argparse
import os
import pathlib
import sys

import grpc
from google.protobuf import field_mask_pb2

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] /
                       "client" / "python"))
import sluice_client  # noqa: E402  (client/python)
from sluice_client import SluiceClient, SluiceError, duration, v1  # noqa: E402

queues_pb2, types_pb2 = v1.queues_pb2, v1.types_pb2

# $AI_JOBS_QUEUE renames both (the end-to-end test uses its own names).
_BASE = os.environ.get("AI_JOBS_QUEUE", "jobs")
JOBS = f"{_BASE}.fifo"
DLQ = f"{_BASE}-dlq.fifo"   # a DLQ has the type of its source queue
MAX_RECEIVE_COUNT = 3


def queue_requests():
    """The two queues, DLQ first (a redrive_policy must name an existing
    queue)."""
    dlq = queues_pb2.CreateQueueRequest(
        queue_name=DLQ,
        type=types_pb2.QUEUE_TYPE_FIFO,
        attributes=types_pb2.QueueAttributes(
            # Keep dead letters long enough for a human to look at them.
            message_retention=duration(14 * 86400)))
    jobs = queues_pb2.CreateQueueRequest(
        queue_name=JOBS,
        # FIFO, with one message group per job (the API's job id). A send
        # that repeats a dedup id is not enqueued twice, which makes the
        # API's retries safe; standard queues honour dedup ids too, but a
        # FIFO queue refuses a send without one (DEDUP_ID_REQUIRED), and
        # two messages of one job (say, resent after the dedup window) are
        # never leased at the same time. With a group per job, no job waits
        # behind another.
        type=types_pb2.QUEUE_TYPE_FIFO,
        attributes=types_pb2.QueueAttributes(
            # One partition (one Raft group) carries thousands of jobs per
            # second, and workers stream from its leader directly.
            partition_count=1,
            # Lease when a receiver does not choose one; the worker asks
            # for its own on the stream and extends it while it works.
            visibility_timeout=duration(30),
            # A send repeating a dedup id within an hour is not enqueued
            # again (the API's job id is the dedup id). Default 5 min.
            dedup_window=duration(3600),
            # Received 3 times without being deleted -> jobs-dlq.fifo.
            redrive_policy=types_pb2.RedrivePolicy(
                dead_letter_queue_name=DLQ,
                max_receive_count=MAX_RECEIVE_COUNT),
            # A nacked (or timed out) job waits 0.5 s, then 1 s, 2 s, ...
            # (at most 10 s) before it is delivered again.
            retry_policy=types_pb2.RetryPolicy(
                initial_backoff=duration(0.5),
                max_backoff=duration(10),
                multiplier=2.0)))
    return [dlq, jobs]


# What UpdateQueue may change (partition_count and replication_factor are
# fixed after creation).
_MUTABLE = ["visibility_timeout", "message_retention", "dedup_window",
            "redrive_policy", "retry_policy"]


def ensure_queues(client, log=print):
    for request in queue_requests():
        try:
            response = client.call("CreateQueue", request, timeout=10)
            log(f"queue {request.queue_name}: "
                f"{'created' if response.created else 'exists'}")
        except SluiceError as e:
            if e.code != grpc.StatusCode.ALREADY_EXISTS:
                raise
            paths = [f"attributes.{f}" for f in _MUTABLE
                     if request.attributes.HasField(f)]
            client.call("UpdateQueue", queues_pb2.UpdateQueueRequest(
                queue_name=request.queue_name,
                attributes=request.attributes,
                update_mask=field_mask_pb2.FieldMask(paths=paths)))
            log(f"queue {request.queue_name}: existed with other attributes "
                f"({e.message}); updated {', '.join(paths)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sluice_client.add_addresses_argument(parser, sluice_client.LOCAL_CLUSTER)
    args = parser.parse_args()
    client = SluiceClient.from_env(args.addresses)
    try:
        ensure_queues(client)
    except SluiceError as e:
        print(f"setup_queues: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
