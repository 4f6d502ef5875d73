"""The nightly batch job behind ``crmid score``: read, validate, score, write, store, publish.

A run is one unit
-----------------
A run's outputs are three files and, with a store, one stored run: the scores (``--out``), the
rejects (``--rejects``, default ``<name>.rejects.csv`` beside it) and the run manifest
(``<name>.manifest.json`` beside it: run id, as-of, model and rules versions, the language of the
reasons, counts, and each file's size, row count and SHA-256). Readers see the previous run or the new one, whole:

1. the scores and rejects are written under hidden temporary names
   (``.<file>.<run id>.partial``), flushed to disk;
2. the manifest is written under its temporary name too: from then on the run is *decided*
   (this is its journal);
3. the store writes the run's rows and marks it complete, last, in one transaction (the
   manifest of step 2 is written inside that transaction, just before the mark);
4. the rejects, then the scores, then the manifest are renamed into place.

The manifest is the run's commit record: a reader trusts the files it names only when their
checksums match (:func:`verify_run`). A run killed anywhere leaves the previous run in place,
or a decided run that the next run finishes: at its start, ``crmid score`` with the same
``--out`` marks the store's runs left ``running`` by a dead process ``failed`` (with the reason),
completes the renames of a run whose store run is complete (files and store then agree on the
latest run), and removes every other leftover ``.partial`` file. After a run the store keeps the
``keep_runs`` most recent complete runs and deletes the older ones.

Fault injection (tests only): ``run_batch(fault_at=POINT)`` (``crmid score --fault-at POINT``, a
hidden option) kills the process with SIGKILL at that point, as ``kill -9`` would; the points are
:data:`FAULT_POINTS`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from crmid.customerbase import TransactionLog, read_profiles, read_transactions
from crmid.customerbase.io import file_sha256, publish_file, table_format, write_table_file
from crmid.models.spend import spend_totals
from crmid.progress import StageProgress
from crmid.rules.decision_table import DEFAULT_LANG, check_lang

from .scoring import ScoringResult, profiles_without, score_customers

if TYPE_CHECKING:  # SQLAlchemy is imported only when a store is used
    from .context import ScoringContext
    from .store import ScoresStore

__all__ = [
    "DEFAULT_KEEP_RUNS",
    "FAULT_POINTS",
    "MANIFEST_FORMAT",
    "BatchSummary",
    "default_manifest_path",
    "default_rejects_path",
    "recover_outputs",
    "run_batch",
    "verify_run",
]

#: complete runs the store keeps by default (``crmid score --keep-runs``)
DEFAULT_KEEP_RUNS = 10
#: purchase occasions per customer kept in the store for the customer page's timeline (the most
#: recent ones): a display choice, not a business number
HISTORY_LAST = 24
#: the manifest's ``format``: readers refuse a format they do not know
MANIFEST_FORMAT = "crmid-run/1"
#: where ``fault_at`` can kill a run, in the order a run passes them
FAULT_POINTS = (
    "read+validate", "prepare", "snapshot+models", "facts+rules",  # the scoring stages, as each starts
    "write",             # before any output is written
    "store:running",     # the store holds the run as running, no rows yet
    "store:rows",        # the rows are ready to go in, the files may still be being written
    "files-written",     # the scores and rejects are on disk under temporary names
    "journal-written",   # the manifest too: the run is decided; the store's transaction is not committed
    "stored",            # the store marked the run complete; nothing renamed yet
    "rejects-published",  # the new rejects are in place, the scores are not
    "scores-published",  # the new scores too; the manifest is still the previous run's
    "published",         # the new manifest is in place; the store's older runs not yet pruned
)
_STAGES = ["read+validate", "prepare", "snapshot+models", "facts+rules", "write", "store", "publish"]


@dataclass
class BatchSummary:
    """Counts and timings of one batch run.

    ``input_customers == scored + rejected`` always; ``rows`` accounts for every row read (used,
    or not used with the reason), and rows without a customer id are in the rejects file by row.
    ``cleaned`` says what the run found left over by an interrupted one and what it did about it;
    ``pruned``: the store's runs deleted to keep the last ``keep_runs``.
    """

    input_customers: int
    scored: int
    rejected: int
    out: Path
    rejects_out: Path
    run_id: str | None
    rows: str = ""
    seconds: dict = field(default_factory=dict)
    manifest: Path | None = None
    cleaned: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: expected spend of the scored base per horizon (:func:`crmid.models.spend.spend_totals`)
    spend: dict = field(default_factory=dict)
    #: language of the run's reasons and action texts (``en`` or ``zh``)
    lang: str = DEFAULT_LANG

    def lines(self) -> str:
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())
        text = "".join(f"cleaned: {c}\n" for c in self.cleaned)
        text += (
            f"input customers {self.input_customers:,} = scored {self.scored:,} + rejected {self.rejected:,}\n"
            f"input {self.rows}\n"
            f"scores  -> {self.out}\nrejects -> {self.rejects_out}\n"
        )
        if self.manifest is not None:
            text += f"run manifest -> {self.manifest}\n"
        if self.run_id:
            text += f"store run {self.run_id}\n"
        if self.pruned:
            text += f"store: {len(self.pruned)} older run(s) deleted (keeping the latest runs)\n"
        for h, t in sorted(self.spend.items()):
            band = "" if t["low"] is None else f" (80% interval {t['low']:,.0f} .. {t['high']:,.0f}{_outside(t)})"
            tiers = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(t["by"].items(), key=lambda kv: -kv[1]))
            text += f"expected spend next {h} days: {t['total']:,.0f}{band}; by tier: {tiers}\n"
        text += "".join(f"warning: {w}\n" for w in self.warnings)
        return text + f"stages: {stages}"

    def to_dict(self) -> dict:
        """The run summary in plain JSON types, for schedulers (``crmid score --format json``).

        ``counts.input_customers == counts.scored + counts.rejected``; ``files`` are the published
        paths; ``seconds`` the stage times; ``spend`` the expected spend per horizon in days
        (``{"90": {"total", "low", "high", "by": {tier: total}}}``).
        """
        return {
            "engine": "local",
            "run_id": self.run_id,
            "lang": self.lang,
            "counts": {"input_customers": self.input_customers, "scored": self.scored, "rejected": self.rejected},
            "rows": self.rows,
            "files": {"scores": str(self.out), "rejects": str(self.rejects_out),
                      "manifest": None if self.manifest is None else str(self.manifest)},
            "seconds": {k: round(float(v), 3) for k, v in self.seconds.items()},
            "spend": {str(h): t for h, t in sorted(self.spend.items())},
            "cleaned": list(self.cleaned),
            "pruned": list(self.pruned),
            "warnings": list(self.warnings),
        }


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


def default_manifest_path(out: str | Path) -> Path:
    """The run manifest beside the scores file: ``scores.parquet`` -> ``scores.manifest.json``."""
    out = Path(out)
    return out.with_name(out.name.split(".")[0] + ".manifest.json")


def _partial(final: Path, run_id: str) -> Path:
    return final.with_name(f".{final.name}.{run_id}.partial")


def _fault(point: str, fault_at: str | None) -> None:
    if fault_at == point:
        # what kill -9 does: no handler, no cleanup, no flush
        os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------------- manifest
def _file_entry(partial: Path, final: Path, manifest: Path, rows: int) -> dict:
    # files beside the manifest are named relative to it: the directory can be moved whole
    name = final.name if final.parent.resolve() == manifest.parent.resolve() else str(final.resolve())
    return {"path": name, "rows": int(rows), "bytes": partial.stat().st_size, "sha256": file_sha256(partial)}


def _write_json_durably(data: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask's mode, as any new file
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    publish_file(tmp, path)  # whole or absent, even as a journal


def _manifest_files(manifest: dict, manifest_path: Path) -> dict[str, Path]:
    return {key: (manifest_path.parent / entry["path"]) for key, entry in manifest["files"].items()}


def verify_run(manifest_path: str | Path) -> dict:
    """The run manifest at ``manifest_path``, once every file it names is checked against it.

    Returns
    -------
    dict
        The manifest: ``run_id``, ``as_of``, ``model_version``, ``rules_version``, ``lang``, ``counts``,
        ``files`` (per file: ``path``, ``rows``, ``bytes``, ``sha256``) and ``store``.

    Raises
    ------
    FileNotFoundError
        No manifest (no run was ever completed there).
    ValueError
        A file is missing or differs from the manifest (a run was interrupted while its files
        were being put in place: the next ``crmid score`` with the same output finishes it).
    """
    manifest_path = Path(manifest_path)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{manifest_path}: manifest format {manifest.get('format')!r}; expected {MANIFEST_FORMAT}")
    for key, path in _manifest_files(manifest, manifest_path).items():
        entry = manifest["files"][key]
        if not path.is_file():
            raise ValueError(f"{path}: named by the manifest of run {manifest['run_id']} but missing")
        if path.stat().st_size != entry["bytes"] or file_sha256(path) != entry["sha256"]:
            raise ValueError(f"{path}: differs from the manifest of run {manifest['run_id']} (an interrupted run? "
                             f"the next crmid score with the same output finishes or removes it)")
    return manifest


# ---------------------------------------------------------------------------------- recovery
def recover_outputs(out: str | Path, rejects_out: str | Path | None = None, *,
                    store: ScoresStore | None = None) -> list[str]:
    """Finish or remove what an interrupted run left at these outputs; return what was done, one line each.

    The store's runs left ``running`` by a process that has ended are marked ``failed`` with the
    reason. A decided run (its manifest journal is on disk) whose store run is complete (or that
    had no store) is finished: its files are renamed into place, the manifest last. Any other
    leftover temporary file of these outputs is removed.
    """
    out = Path(out)
    rejects_out = Path(rejects_out) if rejects_out else default_rejects_path(out)
    manifest_path = default_manifest_path(out)
    done: list[str] = []
    if store is not None:
        for run_id in store.fail_interrupted_runs():
            done.append(f"store run {run_id} was left running by a process that ended: marked failed")
    directory = out.parent
    if not directory.is_dir():
        return done
    for journal in sorted(directory.glob(f".{manifest_path.name}.*.partial")):
        run_id = journal.name[len(manifest_path.name) + 2: -len(".partial")]
        try:
            manifest = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # an unreadable journal was never a decision: removed with the other leftovers below
        stored = manifest.get("store")
        status = store.run_status(run_id) if (stored and store is not None) else None
        if stored and store is not None and status != "complete":
            continue  # the store never completed it: the run did not happen; its files go below
        finals = _manifest_files(manifest, manifest_path)
        finished = True
        for key, final in finals.items():
            partial = _partial(final, run_id)
            if partial.exists():
                publish_file(partial, final)
            elif not (final.exists() and file_sha256(final) == manifest["files"][key]["sha256"]):
                finished = False
        if finished:
            publish_file(journal, manifest_path)
            done.append(f"run {run_id} had been stored but its files not all put in place: finished")
        else:
            done.append(f"run {run_id}: its files are gone; its journal is removed")
    prefixes = tuple(f".{p.name}." for p in (out, rejects_out, manifest_path))
    for leftover in sorted(directory.iterdir()):
        name = leftover.name
        if name.startswith(prefixes) and (name.endswith(".partial") or name.endswith(".partial.tmp")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
            done.append(f"removed {leftover.name}, left by an interrupted run")
    return done


@contextlib.contextmanager
def _output_lock(out: Path):
    """One run at a time per output directory: a second ``crmid score`` there waits for the first to end.

    The lock is on the directory itself (no lock file to leave behind); the kernel drops it when
    the process ends, however it ends.
    """
    import fcntl

    fd = os.open(out.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------- the job
def with_history(scored: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """``scored`` with each customer's ``purchase_history`` (null for a prospect), joined by customer id.

    The scored rows start with the snapshot's customers in the snapshot's order, which is the
    history's: then the column is taken as it is, with no join of a million ids.
    """
    n = len(history)
    ids = scored["customer_id"]
    if len(scored) >= n and _same_texts(ids.iloc[:n], history["customer_id"]):
        column = pd.concat([history["purchase_history"].reset_index(drop=True),
                            pd.Series(pd.NA, index=range(n, len(scored)), dtype=history["purchase_history"].dtype)])
    else:
        column = ids.astype(str).map(pd.Series(history["purchase_history"].to_numpy(),
                                               index=history["customer_id"].astype(str)))
    return scored.assign(purchase_history=column.to_numpy())


def _same_texts(a: pd.Series, b: pd.Series) -> bool:
    """Whether two columns hold the same ids in the same order, compared as Arrow strings (as
    Python strings, a million ids took a second)."""
    import pyarrow as pa

    def texts(column: pd.Series) -> pa.Array:
        array = pa.array(column.astype("string").array)
        array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
        return array.cast(pa.large_string())

    return len(a) == len(b) and texts(a).equals(texts(b))


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
    encoding: str = "utf-8",
    keep_runs: int | None = DEFAULT_KEEP_RUNS,
    fault_at: str | None = None,
    lang: str = DEFAULT_LANG,
) -> BatchSummary:
    """Score every customer of a transactions file at ``as_of`` and write the results as one unit.

    Only transactions dated on or before ``as_of`` are read; amounts are bounded by the rules
    file's ``input.max_abs_amount``. Customers with bad rows are rejected whole, with the
    reason, into ``rejects_out`` (default: beside ``out``); scored customers go to ``out``
    (Parquet or CSV by extension); the run manifest goes beside ``out``; with a ``store`` the run
    is saved while the files are written. See the module's description for how the files and the
    store change together, and how a run cleans up after an interrupted one. Value percentiles
    rank against the scored population itself; its CLV quantile table is stored with the run,
    for the HTTP service to rank lone customers against.

    Parameters
    ----------
    encoding : str
        Text encoding of CSV input files.
    keep_runs : int or None
        Complete runs the store keeps (the newest); None keeps every run.
    fault_at : str, optional
        Tests only: kill the process at this point of :data:`FAULT_POINTS`.
    lang : str
        Language of the reasons and action texts (``en`` or ``zh``, the workspace's ``lang``);
        the manifest and the summary record it.

    Raises
    ------
    ValueError
        For input with no transaction row (a header only) and no profile: nothing is written and
        the previous run stays.
    """
    if fault_at is not None and fault_at not in FAULT_POINTS:
        raise ValueError(f"fault point {fault_at!r}: expected one of {', '.join(FAULT_POINTS)}")
    check_lang(lang)  # refused before any work, as a wrong extension is
    if keep_runs is not None and keep_runs < 1:
        raise ValueError(f"--keep-runs {keep_runs}: keep at least the latest run")
    out = Path(out)
    rejects_out = Path(rejects_out) if rejects_out else default_rejects_path(out)
    manifest_path = default_manifest_path(out)
    for path in (out, rejects_out):
        table_format(path)  # a wrong extension is refused before any work
    out.parent.mkdir(parents=True, exist_ok=True)
    rejects_out.parent.mkdir(parents=True, exist_ok=True)
    with _output_lock(out):
        cleaned = recover_outputs(out, rejects_out, store=store)
        summary = _run(transactions=transactions, as_of=as_of, out=out, rejects_out=rejects_out,
                       manifest_path=manifest_path, context=context, customers=customers, columns=columns,
                       dedupe=dedupe, store=store, encoding=encoding, fault_at=fault_at, lang=lang)
        summary.cleaned = cleaned
        _fault("published", fault_at)
        if store is not None and keep_runs is not None:
            t0 = time.perf_counter()
            try:
                summary.pruned = store.prune_runs(keep_runs)
            except Exception as exc:  # the run is complete and in place: a failed clean-up does not undo it
                summary.warnings.append(f"could not delete the store's older runs: {type(exc).__name__}: {exc}")
            summary.seconds["prune"] = time.perf_counter() - t0
    return summary


def _run(*, transactions, as_of, out: Path, rejects_out: Path, manifest_path: Path, context, customers, columns,
         dedupe, store, encoding, fault_at, lang) -> BatchSummary:
    import pyarrow as pa

    progress = StageProgress(_STAGES)
    histories: list[_InBackground] = []

    def on_stage(name: str) -> None:
        _fault(name, fault_at)
        # Arrow's allocator (mimalloc) keeps what a stage freed for reuse; handed back to the
        # system here, a million-customer job peaks at its largest stage, not at that stage plus
        # what the earlier ones left (3.2 -> 2.9 GB)
        pa.default_memory_pool().release_unused()
        if name == "facts+rules" and store is not None:
            # the store's purchase histories read the log alone: made while the rules run, on the
            # core they leave idle, not at the head of the store's write (about a second a million customers)
            histories.append(_InBackground(lambda: log.purchase_history(as_of, last=HISTORY_LAST),
                                           name="crmid-history"))
        progress.step(name)

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    on_stage("read+validate")
    bounds = context.engine.config.section("input")
    frame, report = read_transactions(transactions, columns=columns, as_of=as_of, dedupe=dedupe, on_error="reject",
                                      encoding=encoding, max_abs_amount=bounds["max_abs_amount"])
    profiles = read_profiles(customers, encoding=encoding) if customers else None
    if report.rows_in == 0 and (profiles is None or len(profiles) == 0):
        raise ValueError(f"{transactions}: no transaction rows (a header only?) and no profiles: nothing to score; "
                         f"the previous run's files and stored run are left as they were")
    seconds["read+validate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log = TransactionLog(frame)  # here, not in score_customers: the store's purchase histories read it too
    # what is read from the transactions themselves, read now: the log holds what scoring needs,
    # and the frame (a quarter of a GB for 6M rows) is let go before the run's peak
    gap_note = as_of_gap_note(frame, as_of)
    prospects = None if profiles is None else profiles_without(profiles, frame)
    del frame
    prepared = time.perf_counter() - t0
    result: ScoringResult = score_customers(
        log, as_of, scorer=context.require_scorer(), engine=context.engine, profiles=profiles, report=report,
        on_stage=on_stage, lang=lang,
    )
    seconds.update(result.seconds)
    seconds["prepare"] = seconds.get("prepare", 0.0) + prepared

    # the rejects list also names rows without a customer id (empty id): those are rows, not customers
    rejected_customers = int(result.rejects["customer_id"].notna().sum())
    profile_only = 0 if prospects is None else len(profiles_without(prospects, result.rejects))
    input_customers = report.customers_in + profile_only
    run_id = str(uuid.uuid4())
    parts = {"scores": (_partial(out, run_id), out, result.scored),
             "rejects": (_partial(rejects_out, run_id), rejects_out, result.rejects)}
    manifest = {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "as_of": str(_date(as_of)),
        "model_version": context.model_version,
        "rules_version": context.rules_version,
        "lang": lang,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": {
            "input_customers": input_customers, "scored": len(result.scored), "rejected": rejected_customers,
            "rows_in": report.rows_in, "rows_used": report.rows_out,
            "rows_not_used": {k: v for k, v in report.rows_dropped.items() if v},
        },
        "store": None if store is None else {"url": _safe_url(store.url), "run_id": run_id},
        "files": {},
    }
    journal = _partial(manifest_path, run_id)

    def write_files():
        for key, (partial, final, table) in parts.items():
            write_table_file(table, partial, table_format(final))
            manifest["files"][key] = _file_entry(partial, final, manifest_path, len(table))

    def write_journal():
        _fault("files-written", fault_at)
        _write_json_durably(manifest, journal)
        _fault("journal-written", fault_at)

    on_stage("write")
    if store is None:
        t0 = time.perf_counter()
        write_files()
        write_journal()
        seconds["write"] = time.perf_counter() - t0
    else:
        # the files are written while the store saves the run (in this thread: a store's
        # connections may belong to it): both spend their time in Arrow, Parquet and the database
        # driver, outside the GIL (1.5 s less for a million customers on two cores). The run's
        # journal is written inside the store's transaction, before the run is marked complete;
        # a failure of either fails the run, and the previous one stays
        writing = _InBackground(write_files, name="crmid-write")
        progress.step("store")
        t0 = time.perf_counter()

        def on_store_step(step: str) -> None:
            if step == "commit":
                writing.result()
                write_journal()
            else:
                _fault(f"store:{step}", fault_at)

        try:
            history = histories[0].result() if histories else log.purchase_history(as_of, last=HISTORY_LAST)
            store.save_run(
                with_history(result.scored, history), as_of=as_of, n_rejected=rejected_customers,
                model_version=context.model_version,
                rules_version=context.rules_version, clv_reference=result.reference, run_id=run_id,
                on_step=on_store_step,
            )
        except BaseException:
            with contextlib.suppress(BaseException):
                writing.result()
            for partial in (*(p for p, _, _ in parts.values()), journal):
                with contextlib.suppress(FileNotFoundError):
                    partial.unlink()
            raise
        finally:
            store_seconds = time.perf_counter() - t0
            seconds["write"] = writing.seconds
            seconds["store"] = store_seconds  # the wall time from the write's start, beside it
        _fault("stored", fault_at)
    progress.step("publish")
    t0 = time.perf_counter()
    # rejects, scores, then the manifest: until the manifest is in place, it names the previous files
    publish_file(parts["rejects"][0], rejects_out)
    _fault("rejects-published", fault_at)
    publish_file(parts["scores"][0], out)
    _fault("scores-published", fault_at)
    publish_file(journal, manifest_path)
    seconds["publish"] = time.perf_counter() - t0
    progress.close()

    summary = BatchSummary(
        input_customers=input_customers, scored=len(result.scored), rejected=rejected_customers,
        out=out, rejects_out=rejects_out, run_id=run_id if store is not None else None, seconds=seconds,
        rows=report.rows_line(), manifest=manifest_path, lang=lang,
        spend=spend_totals(result.scored, getattr(context.scorer.spend, "interval_", None)),
    )
    if gap_note:
        summary.warnings.append(gap_note)
    if profiles is not None and len(profiles) and report.customers_in and profile_only == len(profiles):
        # a profiles file keyed differently from the transactions (another id format, another
        # system) would otherwise turn every profile into a prospect without a word
        summary.warnings.append(
            f"none of the {len(profiles):,} customer profiles in {customers} matches one of the "
            f"{report.customers_in:,} customers in {transactions}: every profile was scored as a prospect "
            "with no purchase (do both files use the same customer ids?)")
    if summary.scored + summary.rejected != summary.input_customers:
        # nothing may be lost silently: this is a bug, not a data problem
        print(f"crmid: internal error: {summary.input_customers} customers in, "
              f"{summary.scored} scored + {summary.rejected} rejected out", file=sys.stderr)
    return summary


def _outside(total: dict) -> str:
    """Why a forecast total can lie outside its own interval: the interval is the classical
    forecast's backtest band (see SpendForecaster.interval_), which the served model left."""
    if total["low"] <= total["total"] <= total["high"]:
        return ""
    return "; the forecast lies outside the band BG/NBD x Gamma-Gamma's backtests give"


def as_of_gap_note(transactions, as_of) -> str | None:
    """What scoring at ``as_of`` reads into the days after the last transaction; None when there are none.

    Those days are read as silence: every customer is that much quieter. Within the longest
    quiet stretch the base has had (month end two days after the last purchase) that is
    normal; longer, data may be missing, and the note says so. Scoring fits nothing on those
    days, so it warns and goes on (``crmid train`` refuses such a gap without ``--allow-gap``).
    """
    from crmid.customerbase.snapshot import gap_after_data

    gap = gap_after_data(transactions["date"], as_of)
    if gap is None:
        return None
    note = f"as-of date {_date(as_of)} is {gap.days} days after the last transaction ({gap.last_day.date()}): "
    if gap.days <= gap.quiet_days:
        return note + (f"those days are read as silence (the base's longest quiet stretch: {gap.quiet_days} "
                       f"days{gap.quiet_between})")
    return note + (f"longer than the longest quiet stretch the base has had ({gap.quiet_days} days"
                   f"{gap.quiet_between}): data may be missing, and every customer reads that much quieter "
                   "than they are")


def _date(as_of) -> dt.date:
    import pandas as pd

    return pd.Timestamp(as_of).date()


def _safe_url(url: str) -> str:
    """A store URL without its password, for the manifest."""
    try:
        import sqlalchemy as sa

        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]
