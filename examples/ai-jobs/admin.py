#!/usr/bin/python3
"""Operator commands for the AI-jobs example: queue stats, what is in the
dead-letter queue, and redrive (move dead letters back to be retried).

    /usr/bin/python3 examples/ai-jobs/admin.py stats
    /usr/bin/python3 examples/ai-jobs/admin.py dlq
    /usr/bin/python3 examples/ai-jobs/admin.py redrive [--wait]

All three are plain Queues RPCs (GetQueueStats, Peek, StartRedrive and
ListRedriveTasks); the `sluice` CLI (client/cli) does the same with
`sluice stats`, `sluice peek` and `sluice redrive`.
"""
import argparse
import json
import pathlib
import sys
import time

import grpc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] /
                       "client" / "python"))
import sluice_client  # noqa: E402  (client/python)
from setup_queues import DLQ, JOBS  # noqa: E402
from sluice_client import SluiceClient, SluiceError, v1  # noqa: E402

queues_pb2 = v1.queues_pb2

_FINAL = {queues_pb2.REDRIVE_TASK_STATE_COMPLETED,
          queues_pb2.REDRIVE_TASK_STATE_CANCELLED,
          queues_pb2.REDRIVE_TASK_STATE_FAILED}


def stats(client, _args):
    for name in (JOBS, DLQ):
        c = client.call("GetQueueStats", queues_pb2.GetQueueStatsRequest(
            queue_name=name)).counts
        print(f"{name:14} visible {c.visible_count}  in flight "
              f"{c.in_flight_count}  delayed {c.delayed_count}  backlog "
              f"{c.backlog_bytes} bytes  oldest "
              f"{c.oldest_message_age.ToMilliseconds() / 1000:.1f}s")
    return 0


def dlq(client, _args):
    """Lists the DLQ without leasing anything (Peek)."""
    token, count = "", 0
    while True:
        page = client.call("Peek", queues_pb2.PeekRequest(
            queue_name=DLQ, limit=100, page_token=token))
        for m in page.messages:
            count += 1
            try:
                job = json.loads(m.body)
            except ValueError:
                job = {}
            source = m.dead_letter_source
            print(f"{job.get('job_id', m.message_id)}  from {source.source_queue_name}"
                  f" after {source.source_receive_count} receives  "
                  f"prompt={job.get('prompt', '')[:40]!r} "
                  f"model={job.get('model', '')}")
        token = page.next_page_token
        if not token:
            break
    print(f"{count} message(s) in {DLQ}")
    return 0


def redrive(client, args):
    """Moves every message in the DLQ back to the queue it came from; they
    arrive with receive count 0, so each gets max_receive_count attempts
    again."""
    try:
        task = client.call("StartRedrive", queues_pb2.StartRedriveRequest(
            source_queue_name=DLQ, max_messages_per_second=100)).task
        print(f"redrive {task.task_id} started: about "
              f"{task.approximate_messages_to_move} message(s) from {DLQ}")
    except SluiceError as e:
        # REDRIVE_TASK_ACTIVE: one is running already (maybe our own, if
        # the first attempt's answer was lost); follow that one.
        if e.reason != "REDRIVE_TASK_ACTIVE":
            raise
        task = client.call("ListRedriveTasks",
                            queues_pb2.ListRedriveTasksRequest(
                                source_queue_name=DLQ, page_size=1)).tasks[0]
        print(f"redrive {task.task_id} is already running")
    deadline = time.monotonic() + args.timeout
    while args.wait and task.state not in _FINAL:
        if time.monotonic() > deadline:
            print(f"redrive {task.task_id} still running after "
                  f"{args.timeout:g}s", file=sys.stderr)
            return 1
        time.sleep(0.2)
        tasks = client.call("ListRedriveTasks",
                             queues_pb2.ListRedriveTasksRequest(
                                 source_queue_name=DLQ, page_size=10)).tasks
        task = next(t for t in tasks if t.task_id == task.task_id)
    state = queues_pb2.RedriveTaskState.Name(task.state).removeprefix(
        "REDRIVE_TASK_STATE_")
    print(f"redrive {task.task_id}: {state}, moved {task.moved_count}, "
          f"skipped {task.skipped_count}"
          + (f" ({task.failure_reason})" if task.failure_reason else ""))
    return 0 if task.state != queues_pb2.REDRIVE_TASK_STATE_FAILED else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sluice_client.add_addresses_argument(parser, sluice_client.LOCAL_CLUSTER)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("stats", help="counts of both queues")
    commands.add_parser("dlq", help="list the dead-letter queue (Peek)")
    p = commands.add_parser("redrive", help="move dead letters back")
    p.add_argument("--wait", action="store_true",
                   help="wait until the redrive task has finished")
    p.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    client = SluiceClient.from_env(args.addresses)
    try:
        return {"stats": stats, "dlq": dlq, "redrive": redrive}[
            args.command](client, args)
    except SluiceError as e:
        print(f"admin: {e}", file=sys.stderr)
        return 2 if e.code == grpc.StatusCode.INVALID_ARGUMENT else 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
