#!/usr/bin/python3
"""End-to-end test of the AI-jobs example against a live Sluice cluster.

    build/default/tests/integration/sluice-with-cluster -- \\
        /usr/bin/python3 examples/ai-jobs/test_end_to_end.py
    ctest --preset default -R example_ai_jobs          # the same, via ctest
    SLUICE_ADDRESSES=127.0.0.1:7101 /usr/bin/python3 \\
        examples/ai-jobs/test_end_to_end.py            # any running cluster

Starts api.py and two worker.py processes (real processes, real gRPC), then:
- submits 20 good jobs, a long one (longer than its lease), a flaky one
  (fails once), a poison one (always fails) and one for a model that is
  "down" on these workers;
- checks Idempotency-Key: a repeated POST, a reused key with another body,
  six concurrent POSTs with one key; and the queue's own dedup via gRPC;
- waits (polling with deadlines) until every job is done or failed, and
  checks every good job ran exactly once with the right result, the flaky
  one twice, the failing ones exactly max_receive_count times and that they
  are in the dead-letter queue;
- ends the outage (empties the workers' --outage-file), redrives the DLQ
  (admin.py redrive --wait) and checks that the outage job completes while
  the poison job fails 3 more times and returns to the DLQ;
- stops the workers with SIGTERM and checks they exit cleanly.
Uses its own queue names ($AI_JOBS_QUEUE) and job store (a temp folder), and
always stops the processes it started.
"""
import concurrent.futures
import ctypes
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

HERE = pathlib.Path(__file__).resolve().parent
PYTHON = sys.executable
# Our own queue names, set before setup_queues is imported (it reads them).
os.environ.setdefault("AI_JOBS_QUEUE", "e2e-" + uuid.uuid4().hex[:8])
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "client" / "python"))

import sluice_client  # noqa: E402
from setup_queues import DLQ, JOBS, MAX_RECEIVE_COUNT  # noqa: E402
from sluice_client import SluiceClient, v1  # noqa: E402

queues_pb2, types_pb2 = v1.queues_pb2, v1.types_pb2

START = time.monotonic()


def say(message):
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_for(what, probe, timeout, interval=0.1):
    """Polls probe() until it returns a truthy value; Failure after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def _die_with_parent():
    # Children get SIGTERM if this test dies (PR_SET_PDEATHSIG = 1).
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)


class Processes:
    """The processes this test starts; each logs to its own file."""

    def __init__(self, folder):
        self.folder = folder
        self.procs = {}

    def start(self, name, script, *args):
        log = open(self.folder / f"{name}.log", "w")
        proc = subprocess.Popen(
            [PYTHON, str(HERE / script), *args], stdout=log,
            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        log.close()
        self.procs[name] = proc
        say(f"started {name} (pid {proc.pid})")
        return proc

    def log(self, name):
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self, name, timeout=20):
        """SIGTERM, wait; SIGKILL if it does not exit. Returns the code."""
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def stop_all(self):
        for name in self.procs:
            self.stop(name, timeout=5)

    def check_alive(self):
        for name, proc in self.procs.items():
            if proc.returncode is None and proc.poll() is not None:
                raise Failure(f"{name} exited with {proc.returncode}")


class Http:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def request(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (
            None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def submit(self, job, key=None, expect=202):
        status, body = self.request(
            "POST", "/jobs", job, {"Idempotency-Key": key} if key else None)
        check(status == expect, f"POST {job} -> {status} {body}, "
              f"expected {expect}")
        return body

    def job(self, job_id):
        status, body = self.request("GET", f"/jobs/{job_id}")
        check(status == 200, f"GET /jobs/{job_id} -> {status} {body}")
        return body


def peek_all(cluster, queue_name):
    messages, token = [], ""
    while True:
        page = cluster.call("Peek", queues_pb2.PeekRequest(
            queue_name=queue_name, limit=100, page_token=token))
        messages.extend(page.messages)
        token = page.next_page_token
        if not token:
            return messages


def run(folder, procs, cluster):
    db = str(folder / "jobs.db")
    outage_file = folder / "outage"
    outage_file.write_text("outage-model\n")      # this model is "down"
    worker_flags = ["--db", db, "--concurrency", "3", "--lease-seconds", "2",
                    "--latency-ms", "20-250", "--dlq-poll-seconds", "0.5",
                    "--outage-file", str(outage_file)]
    procs.start("api", "api.py", "--port", "0", "--db", db)
    procs.start("worker-1", "worker.py", *worker_flags, "--seed", "1",
                "--worker-id", "w1")
    procs.start("worker-2", "worker.py", *worker_flags, "--seed", "2",
                "--worker-id", "w2")

    def api_port():
        procs.check_alive()
        m = re.search(r"listening on http://[^:]+:(\d+)", procs.log("api"))
        return m and int(m.group(1))

    http = Http(wait_for("the API to listen", api_port, 60))
    wait_for("GET /healthz = 200",
             lambda: http.request("GET", "/healthz")[0] == 200, 30)
    say(f"API on {http.base}; queues {JOBS}, {DLQ}")

    # -- bad requests ----------------------------------------------------------
    check(http.request("POST", "/jobs", raw=b"{not json")[0] == 400,
          "invalid JSON must be 400")
    check(http.request("POST", "/jobs", {"model": "x"})[0] == 400,
          "a job without a prompt must be 400")
    check(http.request("POST", "/jobs", {"prompt": "p", "fail": "yes"})[0]
          == 400, '"fail": "yes" must be 400')
    check(http.request("GET", "/jobs/job-" + "0" * 32)[0] == 404,
          "an unknown job must be 404")

    # -- submit ----------------------------------------------------------------
    t_submit = time.monotonic()
    good = {}   # job id -> prompt
    for i in range(20):
        prompt = f"prompt number {i} for the model"
        key = f"good-{i}" if i % 2 == 0 else None
        body = http.submit({"prompt": prompt, "model": "tiny-llm"}, key)
        check(body["status"] == "queued", f"new job: {body}")
        good[body["job_id"]] = prompt
    long_id = http.submit({"prompt": "a long generation",
                           "sleep_ms": 4000})["job_id"]
    flaky_id = http.submit({"prompt": "flaky", "fail_times": 1})["job_id"]
    poison_id = http.submit({"prompt": "poison", "fail": True})["job_id"]
    outage_id = http.submit({"prompt": "needs the outage model",
                             "model": "outage-model"})["job_id"]
    check(len(good) == 20, "20 distinct job ids")
    say(f"submitted 24 jobs in {time.monotonic() - t_submit:.2f}s")

    # -- idempotency -----------------------------------------------------------
    first = next(j for j, p in good.items() if p.startswith("prompt number 0 "))
    again = http.submit({"prompt": "prompt number 0 for the model",
                         "model": "tiny-llm"}, "good-0", expect=200)
    check(again["job_id"] == first and again["duplicate"],
          f"a repeated POST must return the first job: {again}")
    http.submit({"prompt": "something else"}, "good-0", expect=422)

    race_job = {"prompt": "six clients, one key"}
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(
            lambda _: http.request("POST", "/jobs", race_job,
                                   {"Idempotency-Key": "race"}), range(6)))
    ids = {body.get("job_id") for _, body in answers}
    statuses = sorted(status for status, _ in answers)
    check(len(ids) == 1 and statuses == [200] * 5 + [202],
          f"six concurrent POSTs with one key: {answers}")
    race_id = ids.pop()
    good[race_id] = race_job["prompt"]

    # The queue's own dedup: the same dedup id again is not enqueued.
    result = cluster.call_entry("Send", queues_pb2.SendRequest(
        queue_name=JOBS, entries=[queues_pb2.SendEntry(
            entry_id="again", body=b"not enqueued", group_id=first,
            dedup_id=first)]))
    check(result.duplicate and
          result.message_id == http.job(first)["message_id"],
          f"Send with a known dedup id must be a duplicate: {result}")
    say("idempotency: repeated POST, reused key (422), 6 racing POSTs, "
        "queue dedup: ok")

    # -- wait until every job has finished ---------------------------------------
    expected = dict.fromkeys(list(good) + [long_id, flaky_id], "done")
    expected.update({poison_id: "failed", outage_id: "failed"})

    def all_finished():
        procs.check_alive()
        jobs = {j: http.job(j) for j in expected}
        pending = [j for j, job in jobs.items()
                   if job["status"] != expected[j]]
        return None if pending else jobs

    jobs = wait_for("every job to be done or failed", all_finished, 60, 0.25)
    say(f"all jobs finished {time.monotonic() - t_submit:.1f}s after the "
        f"first submit")

    for job_id, prompt in good.items():
        job = jobs[job_id]
        check(job["result"]["output"] == prompt[::-1],
              f"{job_id}: wrong result {job['result']}")
        check(len(job["attempt_log"]) == 1,
              f"{job_id} must run exactly once: {job['attempt_log']}")
    check(jobs[long_id]["attempts"] == 1 and
          jobs[long_id]["result"]["latency_ms"] == 4000,
          f"the long job must run once, its lease extended: {jobs[long_id]}")
    check(jobs[flaky_id]["attempts"] == 2,
          f"the flaky job fails once, then succeeds: {jobs[flaky_id]}")
    for job_id in (poison_id, outage_id):
        job = jobs[job_id]
        check(job["attempts"] == MAX_RECEIVE_COUNT and
              "dead-lettered" in job["error"],
              f"{job_id} must fail {MAX_RECEIVE_COUNT} times, then be "
              f"dead-lettered: {job}")
    dead = peek_all(cluster, DLQ)
    dead_ids = sorted(json.loads(m.body)["job_id"] for m in dead)
    check(dead_ids == sorted([poison_id, outage_id]),
          f"the DLQ must hold the two failed jobs: {dead_ids}")
    for m in dead:
        src = m.dead_letter_source
        check(src.source_queue_name == JOBS and
              src.source_receive_count == MAX_RECEIVE_COUNT and
              src.reason == types_pb2.DEAD_LETTER_REASON_MAX_RECEIVE_COUNT,
              f"dead_letter_source: {src}")
    check(peek_all(cluster, JOBS) == [], f"{JOBS} must be empty")
    for w in ("worker-1", "worker-2"):
        check("lease ran out" not in procs.log(w),
              f"{w}: a lease ran out (extension failed?)")
    say(f"results, attempts (1 each; flaky 2; failing {MAX_RECEIVE_COUNT}), "
        f"DLQ contents: ok")

    # -- end the outage, redrive the DLQ --------------------------------------------
    # (The workers keep running. Restarting them here would be natural, but
    # at the time of writing a stream that ends at a non-leader node leaves
    # a forwarded long poll behind that can lease a redriven message for a
    # moment and so use up one of its receives.)
    outage_file.write_text("")
    redrive = subprocess.run([PYTHON, str(HERE / "admin.py"), "redrive",
                              "--wait"], capture_output=True, text=True,
                             timeout=90)
    check(redrive.returncode == 0 and "COMPLETED, moved 2" in redrive.stdout,
          f"admin.py redrive: {redrive.returncode} {redrive.stdout} "
          f"{redrive.stderr}")
    say(redrive.stdout.strip().splitlines()[-1])

    def redriven():
        procs.check_alive()
        outage, poison = http.job(outage_id), http.job(poison_id)
        if outage["status"] == "done" and poison["status"] == "failed" and \
                poison["attempts"] == 2 * MAX_RECEIVE_COUNT:
            return outage, poison
        return None

    outage, poison = wait_for("the redriven jobs to finish", redriven, 60,
                              0.25)
    check(outage["attempts"] == MAX_RECEIVE_COUNT + 1,
          f"the outage job runs once more: {outage}")
    dead_ids = [json.loads(m.body)["job_id"] for m in peek_all(cluster, DLQ)]
    check(dead_ids == [poison_id],
          f"only the poison job is back in the DLQ: {dead_ids}")
    say("redrive: the outage job is done, the poison job is back in the DLQ")

    # -- graceful stop ---------------------------------------------------------------
    for w in ("worker-1", "worker-2"):
        code = procs.stop(w)
        check(code == 0 and "stopped" in procs.log(w),
              f"{w} must stop cleanly on SIGTERM, got {code}")
    say("workers stopped cleanly on SIGTERM")


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = pathlib.Path(tempfile.mkdtemp(prefix="ai-jobs-e2e-"))
    procs = Processes(folder)
    cluster = SluiceClient.from_env(sluice_client.default_addresses(
        sluice_client.LOCAL_CLUSTER))
    say(f"Sluice at {','.join(cluster.addresses)}; logs in {folder}")
    ok = False
    try:
        run(folder, procs, cluster)
        ok = True
    except Failure as e:
        say(f"FAIL: {e}")
    finally:
        procs.stop_all()
        cluster.close()
        if not ok:
            for name in procs.procs:
                text = procs.log(name)
                print(f"---- {name} log (last 3000 chars) ----\n"
                      f"{text[-3000:]}", flush=True)
            say(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    say("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
