"""Runs submitted jobs in the background, one at a time per model, each row kept in the store.

:meth:`JobRunner.submit` checks the job, queues it (the store refuses a second active job
for the model) and starts it on a thread of its own; the thread records progress, the
result and the MLflow run ids, or the error. Whatever a job raises ends as a failed row,
never as a dead thread with a row stuck in ``running``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from mlworkbench import families
from mlworkbench.config import Settings
from mlworkbench.data.jobs import Job, JobStore
from mlworkbench.errors import InvalidParameterError, MlwbError
from mlworkbench.pipelines.jobs import kinds

logger = logging.getLogger(__name__)
KILLED = "the jobs service stopped while this job was queued or running"
PROGRESS_EVERY_S = 0.5  # a job's progress is written at most this often (stage changes: always)


class JobRunner:
    """The jobs of one service process."""

    def __init__(self, settings: Settings, on_finish=None) -> None:
        self.settings = settings
        self.store = JobStore(settings.resolved_database_url)
        self.threads: dict[int, threading.Thread] = {}
        self.on_finish = on_finish or (lambda job, seconds: None)

    def recover(self) -> list[int]:
        """Jobs a killed service left queued or running, now marked failed; their ids."""
        failed = self.store.fail_unfinished(KILLED)
        if failed:
            logger.warning("marked %d unfinished jobs failed: %s", len(failed), failed)
        return failed

    def family(self, family: str | None, model: str | None) -> families.Family:
        """The family a request names, by family name or by registered model name."""
        if model is not None:
            found = families.for_model(self.settings, model)
            if family is not None and found.name != family:
                raise InvalidParameterError("family", "a job", f"{found.name!r} (the family "
                                            f"of {model!r}) or left out", family)
            return found
        return families.get(family or "recommender")

    def submit(self, kind: str, family_name: str | None, model: str | None,
               params: dict[str, Any]) -> Job:
        family = self.family(family_name, model)
        prepared = kinds.prepare(self.settings, family, kind, params)
        job = self.store.submit(kind, family.model_name(self.settings), family.name,
                                kinds.jsonable(prepared.params))
        thread = threading.Thread(target=self._run, args=(job, prepared), daemon=True,
                                  name=f"job-{job.id}")
        self.threads[job.id] = thread
        thread.start()
        return job

    def _run(self, job: Job, prepared: kinds.Prepared) -> None:
        started = time.perf_counter()
        last = {"stage": None, "at": 0.0}

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if stage != last["stage"] or done >= total or now - last["at"] >= PROGRESS_EVERY_S:
                last.update(stage=stage, at=now)
                try:
                    self.store.progress(job.id, stage, done, total)
                except Exception:  # progress is best effort: the job goes on
                    logger.warning("job %d: progress not recorded", job.id, exc_info=True)

        try:
            self.store.start(job.id)
            result, run_ids = prepared.work(progress)
            self.store.succeed(job.id, kinds.jsonable(result), run_ids)
            logger.info("job %d (%s %s) succeeded", job.id, job.kind, job.model_name)
        except BaseException as exc:  # every failure ends in the row, with its one line
            message = " ".join(str(exc).split()) or type(exc).__name__
            logger.warning("job %d (%s %s) failed: %s", job.id, job.kind, job.model_name,
                           message, exc_info=not isinstance(exc, MlwbError))
            try:
                self.store.fail(job.id, f"{type(exc).__name__}: {message}")
            except Exception:
                logger.exception("job %d: the failure could not be recorded", job.id)
        finally:
            self.threads.pop(job.id, None)
            finished = self.store.get(job.id)
            if finished is not None:
                self.on_finish(finished, time.perf_counter() - started)

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for the jobs running now (tests, shutdown)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in list(self.threads.values()):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
