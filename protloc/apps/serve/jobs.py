"""Prediction jobs: submitted records run one job at a time on a worker thread, with progress, bounded in number.

One :class:`protloc.prediction.predictor.Localizer` serves every job; it and the per-residue explanations share one
lock, so
the network runs for one request at a time (on JAX its compiled step must not be entered twice at once; on 2 cores
two at once would only share them).
"""
from __future__ import annotations

import collections
import dataclasses
import threading
import time
import uuid

from protloc.prediction import explain, table


class TooManyJobs(RuntimeError):
    """The queue holds as many jobs as it may."""


@dataclasses.dataclass
class Job:
    """One submitted prediction.

    Attributes:
        id: random hexadecimal identifier (the only way to reach a job).
        records: the submitted records (checked).
        status: ``queued``, ``running``, ``done`` or ``failed``.
        done: proteins predicted so far.
        rows: the results, one :func:`protloc.prediction.table.record` per protein, in input order.
        error: why the job failed (one line), or None.
        created: submission time (seconds since the epoch).
    """

    id: str
    records: list
    status: str = "queued"
    done: int = 0
    rows: list = dataclasses.field(default_factory=list)
    error: str | None = None
    created: float = dataclasses.field(default_factory=time.time)
    tracks: dict = dataclasses.field(default_factory=dict)

    def summary(self) -> dict:
        return {"id": self.id, "status": self.status, "done": self.done, "total": len(self.records),
                "error": self.error}


class Jobs:
    """The job queue and its worker thread.

    Args:
        localizer: the predictor every job uses.
        max_queued: jobs waiting or running at once; more are refused (:class:`TooManyJobs`).
        kept: finished jobs kept for their results (the oldest are dropped beyond).
    """

    def __init__(self, localizer, max_queued: int = 20, kept: int = 200):
        self.localizer, self.max_queued, self.kept = localizer, max_queued, kept
        self.layout = table.Layout.of(localizer)
        self.jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self.lock = threading.Lock()  # guards self.jobs
        self.network = threading.Lock()  # one network use at a time (predictions, explanations)
        self.waiting = threading.Condition(self.lock)
        self.queue: collections.deque[Job] = collections.deque()
        self.explainer = None
        threading.Thread(target=self._work, name="protloc-jobs", daemon=True).start()

    def submit(self, records: list) -> Job:
        """Queues a job of checked records; returns it.

        Raises:
            TooManyJobs: ``max_queued`` jobs are waiting or running.
        """
        with self.lock:
            if sum(job.status in ("queued", "running") for job in self.jobs.values()) >= self.max_queued:
                raise TooManyJobs(f"{self.max_queued} jobs are waiting or running; try again when one has finished")
            job = Job(uuid.uuid4().hex, list(records))
            self.jobs[job.id] = job
            self.queue.append(job)
            finished = [j for j in self.jobs.values() if j.status in ("done", "failed")]
            for old in finished[:max(0, len(finished) - self.kept)]:
                del self.jobs[old.id]
            self.waiting.notify()
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def track(self, job: Job, index: int) -> explain.Track:
        """The per-residue explanation of a finished job's protein ``index`` for its call (computed once)."""
        if index not in job.tracks:
            with self.network:
                if self.explainer is None:
                    self.explainer = explain.Explainer(self.localizer)
                names = list(self.layout.class_names)
                row = job.rows[index]
                target = names.index(row["prediction"] if "prediction" in row else row["locations"][0])
                job.tracks[index] = self.explainer.track(job.records[index].sequence, target)
        return job.tracks[index]

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self.queue:
                    self.waiting.wait()
                job = self.queue.popleft()
                job.status = "running"
            try:
                with self.network:
                    for prediction in self.localizer.predict(job.records):
                        job.rows.append(table.record(prediction, self.layout))
                        job.done += 1
                job.status = "done"
            except Exception as error:  # noqa: BLE001  (a job's failure is its own; the server goes on)
                job.error = " ".join(str(error).split()) or type(error).__name__
                job.status = "failed"
