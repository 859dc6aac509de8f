"""The rq worker of ``flask worker``: jobs run in this process (rq's ``SimpleWorker``), with
a heartbeat while a job runs and a periodic sweep, so that the job of a worker that died is
found within a bounded time and run again by another.

- **Heartbeats.** rq refreshes a running job's entry in the started-job registry only from a
  forking worker's parent; a ``SimpleWorker`` registers the job once, for its whole timeout
  (half an hour for a large import). Here a thread refreshes it every
  ``JOB_HEARTBEAT_SECONDS`` for three times that long: if the worker dies (SIGKILL, the host
  goes), its jobs' entries expire within ``3 × JOB_HEARTBEAT_SECONDS``.
- **The sweep**, every ``WORKER_SWEEP_SECONDS`` (one worker at a time): rq's registry
  maintenance — an expired entry in the started-job registry is an abandoned job, retried
  if its ``Retry`` has runs left (its failure callback tells its row), failed otherwise —
  then the domain sweepers (``jobs.sweeper``) that make up work never enqueued.
"""

from __future__ import annotations

import logging
import threading

from rq import SimpleWorker

from participation.common import jobs

log = logging.getLogger(__name__)


class ParticipationWorker(SimpleWorker):
    def __init__(self, *args, heartbeat_seconds: int = 10, sweep_seconds: int = 15, **kwargs):
        # The idle worker waits for a job for worker_ttl - 15 s at a time, then runs its
        # maintenance if due: so it sweeps about every sweep_seconds.
        kwargs.setdefault("worker_ttl", sweep_seconds + 15)
        super().__init__(
            *args,
            maintenance_interval=sweep_seconds,
            job_monitoring_interval=heartbeat_seconds,
            **kwargs,
        )
        self.heartbeat_seconds = heartbeat_seconds
        self.sweep_seconds = sweep_seconds

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """How long a running job's registry entry lives without a heartbeat."""
        return 3 * self.heartbeat_seconds

    def perform_job(self, job, queue, execution) -> bool:
        stop = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(job, execution, stop), name="job-heartbeat", daemon=True
        )
        beat.start()
        try:
            return super().perform_job(job, queue, execution)
        finally:
            stop.set()
            beat.join()

    def _beat(self, job, execution, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_seconds):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception as error:  # Redis away for a moment: the next beat tries again
                log.warning("job %s: heartbeat failed (%s)", job.id, error)

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        lock = f"{self.queues[0].name}:participation:sweep"
        if self.connection.set(lock, self.name, nx=True, ex=max(1, self.sweep_seconds - 1)):
            jobs.sweep()
