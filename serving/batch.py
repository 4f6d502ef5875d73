"""The nightly batch job behind ``crmid score``: read, validate, score, write, store."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crmid.customerbase import read_profiles, read_transactions, write_table_atomic
from crmid.progress import StageProgress

from .scoring import ScoringResult, profiles_without, score_customers

if TYPE_CHECKING:  # SQLAlchemy is imported only when a store is used
    from .context import ScoringContext
    from .store import ScoresStore

__all__ = ["BatchSummary", "default_rejects_path", "run_batch"]


@dataclass
class BatchSummary:
    """Counts and timings of one batch run.

    ``input_customers == scored + rejected`` always; ``rows`` accounts for every row read (used,
    or not used with the reason), and rows without a customer id are in the rejects file by row.
    """

    input_customers: int
    scored: int
    rejected: int
    out: Path
    rejects_out: Path
    run_id: str | None
    rows: str = ""
    seconds: dict = field(default_factory=dict)

    def lines(self) -> str:
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())
        text = (
            f"input customers {self.input_customers:,} = scored {self.scored:,} + rejected {self.rejected:,}\n"
            f"input {self.rows}\n"
            f"scores  -> {self.out}\nrejects -> {self.rejects_out}\n"
        )
        if self.run_id:
            text += f"store run {self.run_id}\n"
        return text + f"stages: {stages}"


class _InBackground:
    """``function()`` on a thread of its own; :meth:`result` waits for its value or re-raises its error."""

    def __init__(self, function, name: str):
        self.value = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._function = function
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.start()

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            self.value = self._function()
        except BaseException as exc:  # handed to the caller's thread by result()
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - t0

    def result(self):
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.value


def default_rejects_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name.split(".")[0] + ".rejects.csv")


def run_batch(
    *,
    transactions: str | Path,
    as_of,
    out: str | Path,
    context: ScoringContext,
    customers: str | Path | None = None,
    columns: dict[str, str] | None = None,
    dedupe: bool = False,
    rejects_out: str | Path | None = None,
    store: ScoresStore | None = None,
) -> BatchSummary:
    """Score every customer of a transactions file at ``as_of`` and write the results.

    Only transactions dated on or before ``as_of`` are read. Customers with bad rows are
    rejected whole, with the reason, into ``rejects_out`` (default: beside ``out``); scored
    customers go to ``out`` (Parquet or CSV by extension), written atomically; with a ``store``
    the run is saved while the files are written, and becomes the latest complete run (a
    failure of either fails the call; the run is then the latest only if it had completed).
    Value percentiles rank against the scored population itself; its CLV quantile table is
    stored with the run, for the HTTP service to rank lone customers against.
    """
    progress = StageProgress(["read+validate", "prepare", "snapshot+models", "facts+rules", "write", "store"])
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    progress.step("read+validate")
    frame, report = read_transactions(transactions, columns=columns, as_of=as_of, dedupe=dedupe, on_error="reject")
    profiles = read_profiles(customers) if customers else None
    seconds["read+validate"] = time.perf_counter() - t0

    result: ScoringResult = score_customers(
        frame, as_of, scorer=context.require_scorer(), engine=context.engine, profiles=profiles, report=report,
        on_stage=progress.step,
    )
    seconds.update(result.seconds)

    # the rejects list also names rows without a customer id (empty id): those are rows, not customers
    rejected_customers = int(result.rejects["customer_id"].notna().sum())

    def write_files():
        return (write_table_atomic(result.scored, out),
                write_table_atomic(result.rejects, rejects_out or default_rejects_path(out)))

    progress.step("write")
    run_id = None
    if store is None:
        t0 = time.perf_counter()
        out, rejects_out = write_files()
        seconds["write"] = time.perf_counter() - t0
    else:
        # the files are written while the store saves the run (in this thread: a store's
        # connections may belong to it): both spend their time in Arrow, Parquet and the database
        # driver, outside the GIL (1.5 s less for a million customers on two cores). Each output
        # is whole or absent; a failure of either fails the call once both have ended
        writing = _InBackground(write_files, name="crmid-write")
        progress.step("store")
        t0 = time.perf_counter()
        try:
            run_id = store.save_run(
                result.scored, as_of=as_of, n_rejected=rejected_customers, model_version=context.model_version,
                rules_version=context.rules_version, clv_reference=result.reference,
            )
        finally:
            store_seconds = time.perf_counter() - t0
            try:
                out, rejects_out = writing.result()
            finally:
                seconds["write"] = writing.seconds
                seconds["store"] = store_seconds  # the wall time from the write's start, beside it
    progress.close()

    # profile-only customers (prospects) are input customers too
    profile_only = 0 if profiles is None else len(profiles_without(profiles, frame, result.rejects))
    summary = BatchSummary(
        input_customers=report.customers_in + profile_only, scored=len(result.scored), rejected=rejected_customers,
        out=out, rejects_out=rejects_out, run_id=run_id, seconds=seconds, rows=report.rows_line(),
    )
    if summary.scored + summary.rejected != summary.input_customers:
        # nothing may be lost silently: this is a bug, not a data problem
        print(f"crmid: internal error: {summary.input_customers} customers in, "
              f"{summary.scored} scored + {summary.rejected} rejected out", file=sys.stderr)
    return summary
