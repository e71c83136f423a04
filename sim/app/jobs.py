"""Runs and comparisons started from the app: one thread each, with progress and a cancel
flag, writing to their own new results folder through the same writers as the command line.

Each job owns its output folder (a new name with a random part), so two tabs never write to the
same place; the writers build a folder under a hidden name and rename it into place only when
it is complete, so a job cancelled or abandoned (its tab closed) leaves no folder behind.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from sim.analysis.compare import CompareError, compare_files, load_files
from sim.engine.pathway import DeadlockError
from sim.inputs.loading import ScenarioError, load_scenario
from sim.outputs.comparison import write_comparison
from sim.outputs.i18n import Lang
from sim.running.executors import make_executor
from sim.running.limits import check as check_limits
from sim.running.results import OutputExistsError, write_run
from sim.running.runner import DEFAULT_SEED, run

State = Literal["running", "done", "cancelled", "failed"]
log = logging.getLogger(__name__)


class CancelledError(Exception):
    """Raised inside a job's progress callback once its cancel button was pressed."""


@dataclasses.dataclass
class Job:
    """One run (one scenario) or comparison (two or more, the first the reference)."""

    files: tuple[Path, ...]
    replications: int
    out: Path
    seed: int = DEFAULT_SEED
    workers: int = 1
    posterior: Path | None = None
    draws: int = 0
    lang: Lang = "en"
    reference: str | None = None
    done: int = 0
    state: State = "running"
    message: str = ""
    _cancel: threading.Event = dataclasses.field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def total(self) -> int:
        """Replications to run in all (scenarios x draws x replications)."""
        return self.replications * len(self.files) * max(self.draws, 1)

    def start(self) -> Job:
        self._thread = threading.Thread(target=self._run, name=f"job-{self.out.name}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop at the next finished replication; nothing is written."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> State:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state

    def _progress(self, n: int) -> None:
        if self._cancel.is_set():
            raise CancelledError
        self.done += n

    def _run(self) -> None:
        try:
            self._run_and_write()
        finally:  # the server's console says how every job ended
            print(f"job {self.out.name}: {self.state}", flush=True)

    def _run_and_write(self) -> None:
        try:
            self._compute_and_write()
            self.state = "done"
        except CancelledError:
            self.state = "cancelled"
        except ScenarioError as err:
            self.state, self.message = "failed", "\n".join(map(str, err.problems))
        except (CompareError, OutputExistsError, DeadlockError, ValueError, OSError) as err:
            self.state, self.message = "failed", str(err)
        except Exception as err:  # shown in the page as one line, logged in full on the server
            log.exception("job %s failed", self.out.name)
            self.state, self.message = "failed", f"unexpected error: {type(err).__name__}: {err}"

    def _compute_and_write(self) -> None:
        sets, spec = None, None
        if self.posterior is not None and self.draws > 0:
            from sim.inputs.parameters import draws as read_draws

            sets, spec = read_draws(self.posterior, self.draws)
        # the command line's plausibility limits, before anything runs (LimitError: one line)
        scenarios = load_files(list(dict.fromkeys(self.files)))
        check_limits(scenarios, self.replications * (len(sets) if sets else 1), self.workers)
        executor = make_executor(self.workers)
        try:
            if len(self.files) == 1:
                scenario = load_scenario(self.files[0])
                result = run(
                    scenario,
                    self.replications,
                    self.seed,
                    progress=self._progress,
                    parameter_sets=sets,
                    parameter_spec=spec,
                    executor=executor,
                )
                extra = {"draws": len(sets), "parameter_sets": sets} if sets else None
                self._check_cancel()
                write_run(result, self.out, extra=extra)
                return
            comp = compare_files(
                self.files,
                self.replications,
                self.seed,
                reference=self.reference,
                progress=self._progress,
                parameter_sets=sets,
                parameter_spec=spec,
                executor=executor,
            )
        finally:
            executor.close()
        self._check_cancel()
        write_comparison(comp, self.out, lang=self.lang)

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise CancelledError


def start_job(
    files: Sequence[Path],
    replications: int,
    out: Path,
    *,
    workers: int = 1,
    posterior: Path | None = None,
    draws: int = 0,
    lang: Lang = "en",
    reference: str | None = None,
) -> Job:
    """Start a run (one file) or a comparison (several; the reference is the scenario named
    ``reference``, else the file the others extend, as on the command line) in a thread."""
    job = Job(
        tuple(files),
        replications,
        out,
        workers=workers,
        posterior=posterior,
        draws=draws,
        lang=lang,
        reference=reference,
    )
    return job.start()
