"""The job store: where the API records jobs and the workers write results.

SQLite in WAL mode, one file shared by the API and every worker on this
machine (standard library, transactions, safe across processes). In
production this would be your database (Postgres, DynamoDB, ...) or an
object store; the queue carries the work, the store carries the state the
API serves. Two tables:

  jobs      one row per job: status, the request, the result or last error
  attempts  one row per delivery a worker processed (job id, receive count,
            worker, outcome): how many times each job really ran

Statuses: queued -> running -> done
                            -> retrying -> running -> ... -> failed
"failed" is set when the job's message reaches the dead-letter queue (the
DLQ watcher in worker.py), not by a single failed attempt: the queue decides
when a job has had enough retries (redrive_policy.max_receive_count).

Every write is a short transaction on its own connection (BEGIN IMMEDIATE,
busy timeout), so threads and processes never see half a job.
"""
import contextlib
import json
import os
import pathlib
import sqlite3
import time

# examples/ai-jobs/.data/jobs.db (git-ignored), wherever you start from.
DEFAULT_DB = str(pathlib.Path(__file__).resolve().parent / ".data" / "jobs.db")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  job_id      TEXT PRIMARY KEY,
  status      TEXT NOT NULL,
  request     TEXT,            -- the submitted job, JSON
  fingerprint TEXT,            -- sha256 of the request (Idempotency-Key reuse)
  message_id  TEXT,            -- Sluice message id of the send
  result      TEXT,            -- JSON, when done
  error       TEXT,            -- last failure
  created_at  REAL NOT NULL,
  updated_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
  job_id        TEXT NOT NULL,
  receive_count INTEGER NOT NULL,
  worker        TEXT NOT NULL,
  started_at    REAL NOT NULL,
  finished_at   REAL,
  outcome       TEXT          -- done | error: ... | duplicate
);
CREATE INDEX IF NOT EXISTS attempts_by_job ON attempts(job_id);
"""


class Store:
    def __init__(self, path):
        self.path = os.path.abspath(path)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never block writers
            db.executescript(SCHEMA)
        finally:
            db.close()

    @contextlib.contextmanager
    def _tx(self, write=True):
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # -- API side ------------------------------------------------------------

    def get(self, job_id):
        """The job as the API shows it, or None."""
        with self._tx(write=False) as db:
            row = db.execute("SELECT * FROM jobs WHERE job_id = ?",
                             (job_id,)).fetchone()
            if row is None:
                return None
            attempts = db.execute(
                "SELECT receive_count, worker, outcome FROM attempts "
                "WHERE job_id = ? ORDER BY started_at", (job_id,)).fetchall()
        return {
            "job_id": row["job_id"],
            "status": row["status"],
            "result": json.loads(row["result"]) if row["result"] else None,
            "error": row["error"],
            "attempts": len([a for a in attempts
                             if a["outcome"] != "duplicate"]),
            "attempt_log": [dict(a) for a in attempts],
            "message_id": row["message_id"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def fingerprint(self, job_id):
        with self._tx(write=False) as db:
            row = db.execute("SELECT fingerprint FROM jobs WHERE job_id = ?",
                             (job_id,)).fetchone()
        return None if row is None else (row["fingerprint"] or "")

    def record_enqueued(self, job_id, request, fingerprint, message_id):
        """After a successful Send. A worker may already have started (or
        finished) the job: then only the bookkeeping columns are filled in."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO jobs (job_id, status, request, fingerprint, "
                "message_id, created_at, updated_at) "
                "VALUES (?, 'queued', ?, ?, ?, ?, ?) "
                "ON CONFLICT(job_id) DO UPDATE SET "
                "fingerprint = excluded.fingerprint, "
                "message_id = excluded.message_id",
                (job_id, json.dumps(request), fingerprint, message_id, now,
                 now))

    # -- worker side -----------------------------------------------------------

    def start_attempt(self, job_id, request, receive_count, worker):
        """Records a delivery. Returns False if the job is already done (a
        redelivery after a lost ack): the worker then only acks it."""
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT status FROM jobs WHERE job_id = ?",
                             (job_id,)).fetchone()
            if row is not None and row["status"] == "done":
                db.execute(
                    "INSERT INTO attempts VALUES (?, ?, ?, ?, ?, 'duplicate')",
                    (job_id, receive_count, worker, now, now))
                return False
            db.execute(
                "INSERT INTO jobs (job_id, status, request, created_at, "
                "updated_at) VALUES (?, 'running', ?, ?, ?) "
                "ON CONFLICT(job_id) DO UPDATE SET status = 'running', "
                "updated_at = excluded.updated_at",
                (job_id, json.dumps(request), now, now))
            db.execute(
                "INSERT INTO attempts VALUES (?, ?, ?, ?, NULL, NULL)",
                (job_id, receive_count, worker, now))
            return True

    def finish_attempt(self, job_id, receive_count, worker, result=None,
                       error=None):
        """The attempt's outcome: a result (done) or an error (retrying)."""
        now = time.time()
        with self._tx() as db:
            if error is None:
                db.execute(
                    "UPDATE jobs SET status = 'done', result = ?, error = NULL,"
                    " updated_at = ? WHERE job_id = ?",
                    (json.dumps(result), now, job_id))
            else:
                db.execute(
                    "UPDATE jobs SET status = 'retrying', error = ?, "
                    "updated_at = ? WHERE job_id = ? AND status != 'done'",
                    (error, now, job_id))
            db.execute(
                "UPDATE attempts SET finished_at = ?, outcome = ? WHERE "
                "job_id = ? AND receive_count = ? AND worker = ? AND "
                "finished_at IS NULL",
                (now, "done" if error is None else "error: " + error, job_id,
                 receive_count, worker))

    def mark_dead_lettered(self, job_id, request, reason):
        """The DLQ watcher saw the job's message in the dead-letter queue."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO jobs (job_id, status, request, error, created_at,"
                " updated_at) VALUES (?, 'failed', ?, ?, ?, ?) "
                "ON CONFLICT(job_id) DO UPDATE SET status = 'failed', "
                "error = excluded.error || "
                "COALESCE('; last error: ' || jobs.error, ''), "
                "updated_at = excluded.updated_at "
                "WHERE jobs.status NOT IN ('done', 'failed')",
                (job_id, json.dumps(request), reason, now, now))
