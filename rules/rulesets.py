"""One configuration's decision tables, registered and run on durable-rules.

How durable-rules is used, and why
----------------------------------
* durable-rules keeps rulesets in a registry and cannot remove or re-register a name (its issues
  #157 and #262). Each compiled configuration registers its tables under fresh names
  ``crmid.<version>.<n>.<table>`` (``n`` counts compilations in this process), so a reload, or a
  second engine on the same file, never collides with an earlier one. The old rulesets stay
  registered but unused; they are small.
* The rulesets live on a private :class:`durable.engine.Host` that does not start the module
  host's background dispatch threads: those threads also pick up pending actions, and could run a
  rule's action on another thread while :meth:`CompiledRules.decide_one` waits for it. Every
  evaluation here is synchronous: ``post`` returns after the actions ran.
* Customers are posted as events (not asserted as facts): an event is consumed by the rule that
  fires, so nothing stays in the session state, equal facts of two customers never clash, and
  one session id per ruleset serves millions of evaluations with constant memory. (Unique session
  ids per customer exhaust the engine's state table.)
* Each table is a first-match decision table (rule salience = position), see
  :mod:`rules.decision_table`; the actions record which rule fired into a holder that is read
  right after the post. A lock per compiled configuration serialises use of the holder and of
  the engine, which is not documented as thread-safe.

Two ways to decide
------------------
:meth:`CompiledRules.decide_one` posts one customer to every table in turn: the reference.
:meth:`CompiledRules.decide_frame` groups customers by the cells of each table's inputs
(:mod:`rules.banding`), posts each distinct input once (in batches) and joins the outcomes back.
Both give the same decisions; a test checks it on a large randomised population.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import operator
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from durable import engine as durable_engine

from crmid._frames import frame_of

from . import families, retention
from .banding import Cat, event_value, group_rows, table_codes
from .config import RulesConfig
from .decision_table import DEFAULT_LANG, DecisionTable, Rule, Text, check_lang
from .facts import FactsError, normalize_facts, normalize_frame
from .family import NUMBER
from .scorecards import missing_names, weighted_score

__all__ = ["OUTPUT_COLUMNS", "CompiledRules", "RulesError", "build_tables"]

#: decision fields, in output order, of the packaged rule families (a snapshot taken at import;
#: an engine compiled after :func:`rules.families.register_family` also outputs the new family's
#: fields: see :attr:`CompiledRules.output_columns`)
OUTPUT_COLUMNS = families.output_columns(families.FAMILIES)

# the reasons of a frame are shared per combination of table outcomes when each combination has
# on average at least this many rows; below, building per row at C speed is faster
_ROWS_PER_SHARED_COMBINATION = 8
#: frames this small are decided row by row (the reference path): grouping, coding and the
#: categorical assembly cost about 6.5 ms whatever the size, one customer's decision with its
#: cells remembered about 0.25 ms (8 rows: 2.0 ms row by row, 6.8 ms grouped; 32 rows: 8.5 and
#: 9.0 ms). The service's coalesced requests (up to 32 customers a call) stay on this side
_ONE_BY_ONE_MAX = 32
#: cells of one table whose rule decide_one keeps (then it starts over)
_CELLS_KEPT = 4096
# events to post per durable-rules batch call: large batches make the engine grow big buffers
_BATCH = 500
# a process-wide counter: every compilation gets fresh ruleset names
_COMPILATIONS = itertools.count(1)
_HOST_LOCK = threading.Lock()
_HOST: durable_engine.Host | None = None


class RulesError(RuntimeError):
    """The rules did not decide a customer (a table matched no rule): a defect, not bad input."""


class _SynchronousHost(durable_engine.Host):
    """A durable-rules host without the background dispatch and timer threads.

    The rules here use no timers, and every action runs inside the ``post`` that triggered it;
    the dispatch thread of the default host could otherwise take a pending action first.
    """

    def _run(self) -> None:
        # replaces the thread start-up of the base class
        return None


def _host() -> durable_engine.Host:
    global _HOST
    with _HOST_LOCK:
        if _HOST is None:
            _HOST = _SynchronousHost()
        return _HOST


def build_tables(config: RulesConfig) -> list[DecisionTable]:
    """All decision tables of a configuration, in evaluation order, for the registered families.

    A table may read outputs of earlier tables (value type reads the tier and the customer kind;
    retention reads nearly everything). See :func:`rules.families.build_tables`.
    """
    return families.build_tables(config)


def _condition(table: DecisionTable, rule: Rule) -> dict:
    # the table name in every condition keeps a catch-all rule (no conditions) well-formed
    parts = [{"table": table.name}] + [c.to_durable() for c in rule.when]
    return {"$and": parts}


class CompiledRules:
    """One configuration's decision tables, registered in durable-rules.

    Parameters
    ----------
    config : RulesConfig
    remember_cells : bool
        Keep the rule each table fired per cell of its inputs, so that :meth:`decide_one` asks
        the engine once per cell (see :meth:`_post_cell`). False asks it for every customer: the
        reference the tests hold both paths to.
    """

    def __init__(self, config: RulesConfig, *, remember_cells: bool = True) -> None:
        self.config = config
        self.remember_cells = remember_cells
        self.version = config.version
        # one snapshot of the registry: tables, scorecards and columns all come from the same
        # families, even if one is registered while this compiles
        self.families = families.registered_families()
        self.tables = families.build_tables(config, self.families)
        #: the decision's columns (:data:`OUTPUT_COLUMNS` plus any registered family's outputs)
        self.output_columns = families.output_columns(self.families)
        self._scorecards = tuple((card, f"{card}_", config.section(card)["weights"])
                                 for family in self.families for card in family.scorecards)
        self._criteria = tuple(config.section("distributor")["weights"])
        self._lock = threading.Lock()
        self._fired: list[tuple[int, Any]] = []
        # one token per posted event, to tie each fired action to its event
        self._tokens = itertools.count()
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", self.version)
        serial = next(_COMPILATIONS)
        self._ruleset = {t.name: f"crmid.{slug}.{serial}.{t.name}" for t in self.tables}
        host = _host()
        definitions = {}
        for table in self.tables:
            definition = {}
            for i, rule in enumerate(table.rules):
                definition[f"r{i}"] = {"all": [{"m": _condition(table, rule)}], "pri": i + 1,
                                       "run": self._action(i)}
            definitions[self._ruleset[table.name]] = definition
        host.register_rulesets(definitions)
        self._host = host
        # one customer at a time (decide_one, each online request): the rule each table fired for
        # a cell of its inputs, as the batch path decides a whole cell once (see _cell_of)
        self._numeric = {t.name: {f: tuple(t.thresholds(f)) for f, kind in t.inputs.items() if kind == NUMBER}
                         for t in self.tables}
        self._cells: dict[str, dict[tuple, Rule | None]] = {t.name: {} for t in self.tables}

    def _action(self, index: int):
        fired = self._fired

        def run(c) -> None:
            # the event itself: reason fields and the batch position are read from it later
            fired.append((index, dict(c.m.items())))

        return run

    # ----------------------------------------------------------------------------------------
    # engine calls
    # ----------------------------------------------------------------------------------------
    def _readable(self, table: DecisionTable, event: dict) -> dict:
        """``event`` with every number the engine cannot read replaced by one in the same cell.

        durable-rules' JSON reader fails on a number written with an exponent (``1e+20``,
        ``1e-07``: "error code 204"), which is how Python writes a finite float outside
        1e-4..1e16. A table's rules only compare a number with their thresholds, so any value on
        the same side of each threshold decides the same: that value is posted instead.
        """
        odd = [k for k, v in event.items() if isinstance(v, float) and "e" in repr(v)]
        if not odd:
            return event
        return {**event, **{k: _same_cell(event[k], table.thresholds(k)) for k in odd}}

    def _post_one(self, table: DecisionTable, event: dict) -> tuple[Rule, dict] | None:
        """Post one event; the rule that fired and the event, or None (caller holds the lock)."""
        event = self._readable(table, event)
        token = next(self._tokens)
        self._fired.clear()
        with contextlib.suppress(durable_engine.MessageNotHandledException):
            self._host.post(self._ruleset[table.name], dict(event, _u=token))
        # only this event's action counts: see _post_many for how a stale one can appear
        hits = [(index, seen) for index, seen in self._fired if seen.get("_u") == token]
        if not hits:
            if table.optional:
                return None
            raise RulesError(f"table {table.name}: no rule matched {event}")
        index, seen = hits[0]
        return table.rules[index], seen

    def _post_many(self, table: DecisionTable, events: list[dict]) -> list[tuple[Rule, dict] | None]:
        """Decide many events; one result per event, in order (caller holds the lock).

        Complete tables are posted in batches. A batch in which one event matches no rule raises
        before any action runs and leaves the other events' actions pending, to run on a later
        post; so optional tables (where no match is normal) are posted one event at a time, and
        every event carries a token so a stale action is never taken for a new one.
        """
        if table.optional:
            return [self._post_one(table, e) for e in events]
        events = [self._readable(table, e) for e in events]
        results: list[tuple[Rule, dict] | None] = [None] * len(events)
        name = self._ruleset[table.name]
        for start in range(0, len(events), _BATCH):
            chunk = events[start:start + _BATCH]
            tokens = {next(self._tokens): start + k for k in range(len(chunk))}
            batch = [dict(e, _u=t) for e, t in zip(chunk, tokens, strict=True)]
            self._fired.clear()
            try:
                self._host.post_batch(name, batch)
            except durable_engine.MessageNotHandledException as exc:
                raise RulesError(f"table {table.name}: a batch had an event no rule matched") from exc
            for index, seen in self._fired:
                position = tokens.get(seen.get("_u"))
                if position is not None:
                    results[position] = (table.rules[index], seen)
        for k, r in enumerate(results):
            if r is None:
                raise RulesError(f"table {table.name}: no rule matched {events[k]}")
        return results

    def _cell_of(self, table: DecisionTable, event: dict) -> tuple | None:
        """The cell of ``event``'s inputs in ``table``: events of one cell fire the same rule.

        A number's cell is its place among the table's thresholds (:func:`banding.cell_codes`,
        missing apart); any other input is its own cell (its type and value). None when a value
        cannot be a key.
        """
        numeric = self._numeric[table.name]
        key = []
        for f in table.inputs:
            v = event.get(f)
            if f in numeric and (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))):
                missing = v is None or v != v
                key.append(-1 if missing else sum((v > t) + (v >= t) for t in numeric[f]))
            else:
                key.append((type(v).__name__, v))
        try:
            hash(key := tuple(key))
        except TypeError:
            return None
        return key

    def _recalled(self, table: DecisionTable, key: tuple | None, event: dict) -> tuple[bool, tuple[Rule, dict] | None]:
        """``(True, answer)`` when cell ``key`` was decided before: its rule with ``event``'s own values
        (what the engine would have seen: :meth:`_readable`); ``(False, None)`` otherwise."""
        cells = self._cells[table.name]
        if key is None or key not in cells:
            return False, None
        rule = cells[key]
        return True, (None if rule is None else (rule, self._readable(table, event)))

    def _remember(self, table: DecisionTable, key: tuple | None, hit: tuple[Rule, dict] | None) -> None:
        """Keep the rule ``hit`` fired for cell ``key`` (nothing for a value that cannot be a key)."""
        if key is None:
            return
        cells = self._cells[table.name]
        if len(cells) >= _CELLS_KEPT:  # bounded: a table of free-text inputs would grow forever
            cells.clear()
        cells[key] = None if hit is None else hit[0]

    def _post_cell(self, table: DecisionTable, event: dict) -> tuple[Rule, dict] | None:
        """:meth:`_post_one`, the engine asked once per cell of the table's inputs (caller holds the lock).

        The rule a cell fired is kept; a later event of that cell gets it with its own values,
        the batch path's grouping applied across calls. The engine's answer is a few hundred
        microseconds per table, most of one customer's decision.
        """
        if not self.remember_cells:
            return self._post_one(table, event)
        key = self._cell_of(table, event)
        known, answer = self._recalled(table, key, event)
        if known:
            return answer
        hit = self._post_one(table, event)
        self._remember(table, key, hit)
        return hit

    def _post_cells(self, table: DecisionTable, events: list[dict]) -> list[tuple[Rule, dict] | None]:
        """:meth:`_post_many`, the engine asked only for events of cells it has not answered yet.

        The frame path's events are one per distinct cell of this call already; across calls
        of one process (a service deciding frames of many customers again and again) most cells
        were seen before. Same memory and bound as :meth:`_post_cell`.
        """
        if not self.remember_cells:
            return self._post_many(table, events)
        keys = [self._cell_of(table, e) for e in events]
        results: list[tuple[Rule, dict] | None] = []
        ask = []
        for k, (key, event) in enumerate(zip(keys, events, strict=True)):
            known, answer = self._recalled(table, key, event)
            results.append(answer)
            if not known:
                ask.append(k)
        if ask:
            for k, hit in zip(ask, self._post_many(table, [events[k] for k in ask]), strict=True):
                results[k] = hit
                self._remember(table, keys[k], hit)
        return results

    # ----------------------------------------------------------------------------------------
    # one customer
    # ----------------------------------------------------------------------------------------
    def _scores_one(self, record: dict) -> None:
        for name, prefix, weights in self._scorecards:
            cols = {k: np.array([np.nan if record[prefix + k] is None else record[prefix + k]]) for k in weights}
            score, bits = weighted_score(cols, weights)
            record[f"{name}_score"] = None if np.isnan(score[0]) else float(score[0])
            record[f"{name}_missing"] = missing_names(int(bits[0]), weights)

    def decide_one(self, facts: Mapping[str, Any], lang: str = DEFAULT_LANG) -> dict:
        """Decide one customer by posting it to every table in turn (the reference path).

        Parameters
        ----------
        facts : mapping
            One customer's facts (see :mod:`rules.facts`).
        lang : str
            Language of the reasons and texts, one of :data:`rules.decision_table.LANGUAGES`.

        Returns
        -------
        dict
            The decision (:attr:`output_columns`).
        """
        check_lang(lang)
        record = normalize_facts(facts, self._criteria)
        self._scores_one(record)
        reasons = []
        with self._lock:
            for table in self.tables:
                event = {"table": table.name, **{f: record.get(f) for f in table.inputs}}
                hit = self._post_cell(table, event)
                if hit is None:
                    for out in table.outputs:
                        record.setdefault(out, None)
                    continue
                rule, seen = hit
                record.update({k: _in(v, lang) for k, v in rule.then.items()})
                reasons.append(_reason(rule, seen, lang))
        if record.get("action") is None:
            raise RulesError(f"no retention action for customer {record['customer_id']!r}")
        priority = record["base_priority"]
        for field_name in retention.ADJUSTMENT_OUTPUTS.values():
            if record.get(field_name) is not None:
                priority = priority + record[field_name]
        decision = {k: record.get(k) for k in self.output_columns}
        decision["priority"] = priority
        decision["reasons"] = reasons
        decision["rules_version"] = self.version
        return decision

    # ----------------------------------------------------------------------------------------
    # a frame: group, decide distinct inputs once, join back
    # ----------------------------------------------------------------------------------------
    def decide_frame(self, frame: pd.DataFrame, *, reasons_json: bool = False,
                     lang: str = DEFAULT_LANG) -> pd.DataFrame:
        """Decide every row of ``frame``; one output row per input row, in the same order.

        Rows are grouped per table by the cells of the table's inputs; each group is decided once
        by the engine and the outcome joined back. ``reasons`` holds one list per row; rows with
        the same reasons share one list, so treat them as read-only. With ``reasons_json`` an
        extra column ``reasons_json`` holds the same lists as JSON text. Reasons and texts are in
        ``lang``, put in once per distinct outcome (no cost per row).
        """
        check_lang(lang)
        n = len(frame)
        if 0 < n <= _ONE_BY_ONE_MAX:
            return self._decide_rows(frame, reasons_json, lang)
        cols = normalize_frame(frame.reset_index(drop=True), self._criteria)
        for name, prefix, weights in self._scorecards:
            score, bits = weighted_score({k: cols[prefix + k] for k in weights}, weights)
            cols[f"{name}_score"] = score
            masks, inverse = np.unique(bits, return_inverse=True)
            cols[f"{name}_missing"] = Cat.canonical(inverse.reshape(-1).astype(np.int64),
                                                    [missing_names(int(b), weights) for b in masks])

        reason_cols: list[tuple[np.ndarray, list]] = []
        cells: dict[tuple, tuple[np.ndarray, int]] = {}
        with self._lock:
            for table in self.tables:
                codes, sizes = [], []
                for f in table.inputs:
                    key = (f, tuple(table.thresholds(f)))
                    if not isinstance(cols[f], Cat) and key in cells:
                        c, s = cells[key]
                    else:
                        c, s = table_codes(cols[f], key[1])
                        if not isinstance(cols[f], Cat):
                            # several tables read the same number against the same constants
                            cells[key] = (c, s)
                    codes.append(c)
                    sizes.append(s)
                inverse, rep = group_rows(codes, sizes) if n else (np.zeros(0, np.int64), np.zeros(0, np.int64))
                events = [{"table": table.name, **{f: event_value(cols[f], int(i)) for f in table.inputs}}
                          for i in rep]
                hits = self._post_cells(table, events)
                fired_u = np.array([h is not None for h in hits], dtype=bool)
                # built per distinct outcome of this call, in this call's language: nothing is
                # kept between calls, so two languages never share a reason
                reasons_u = [None if h is None else _reason(*h, lang) for h in hits]
                fired_rows = fired_u[inverse] if len(hits) else np.zeros(n, dtype=bool)
                # per table: which of its distinct outcomes each row got, and those outcomes' reasons
                reason_cols.append((inverse if len(hits) else np.zeros(n, dtype=np.int64), reasons_u or [None]))
                for out in table.outputs:
                    new = Cat.canonical(inverse, [None if h is None else _in(h[0].then[out], lang) for h in hits])
                    old = cols.get(out)
                    if table.optional and isinstance(old, Cat):
                        # rows this table did not decide keep what an earlier table set
                        merged = Cat(np.where(fired_rows, new.codes + len(old.values), old.codes),
                                     old.values + new.values)
                        new = Cat.canonical(merged.codes, merged.values)
                    cols[out] = new
        return self._assemble(frame, cols, reason_cols, reasons_json)

    def _decide_rows(self, frame: pd.DataFrame, reasons_json: bool, lang: str) -> pd.DataFrame:
        """A few rows one by one, in :meth:`decide_frame`'s output form (the tests prove the two paths equal)."""
        records = []
        names = list(frame.columns)
        # one conversion of the rows to Python values: to_dict("records") took a millisecond a row
        for position, values in enumerate(frame.to_numpy(dtype=object)):
            # a frame's missing cell (NaN, None, NA) is an absent fact
            facts = {k: v for k, v in zip(names, values, strict=True) if v is not None and v is not pd.NA and not (
                isinstance(v, float) and v != v)}
            try:
                records.append(self.decide_one(facts, lang))
            except FactsError as exc:
                # named by row, as the fast path names it
                raise FactsError(exc.field, exc.value, exc.expected, row=position,
                                 customer_id=facts.get("customer_id")) from None
        numbers = {o.name for o in families.outputs(self.families) if o.kind == NUMBER}
        columns = {c: _few_values([r.get(c) for r in records], number=c in numbers) for c in self.output_columns}
        if reasons_json:
            columns["reasons_json"] = _few_values([json.dumps(r["reasons"], ensure_ascii=False) for r in records])
        return frame_of(columns, index=frame.index)

    def _assemble(self, frame: pd.DataFrame, cols: dict, reason_cols: list, reasons_json: bool) -> pd.DataFrame:
        n = len(frame)
        out: dict[str, Any] = {}
        for o in families.outputs(self.families):
            # scorecard scores are float arrays already; table outputs are categorical columns
            col = cols[o.name]
            out[o.name] = col.to_series() if isinstance(col, Cat) else col
        action_cat = cols["action"]
        undecided = np.array([v is None for v in action_cat.values], dtype=bool)
        if n and undecided[action_cat.codes].any():
            i = int(np.flatnonzero(undecided[action_cat.codes])[0])
            raise RulesError(f"no retention action for customer {cols['customer_id'][i]!r}")
        out["customer_id"] = pd.Series(cols["customer_id"], dtype=object)
        out["priority"] = self._priority(cols, n)
        out["reasons"], as_json = _join_reasons(reason_cols, n, with_json=reasons_json)
        out["rules_version"] = Cat(np.zeros(n, dtype=np.int64), [self.version]).to_series()
        result = pd.DataFrame({k: out[k] for k in self.output_columns})
        if reasons_json:
            result["reasons_json"] = pd.Series(as_json, index=result.index)
        result.index = frame.index
        return result

    @staticmethod
    def _priority(cols: dict, n: int) -> np.ndarray:
        parts = [cols["base_priority"]] + [cols[f] for f in retention.ADJUSTMENT_OUTPUTS.values() if f in cols]
        numbers = [v for p in parts for v in p.values if v is not None]
        integral = all(isinstance(v, int) for v in numbers)
        dtype = np.int64 if integral else np.float64

        def values(cat: Cat) -> np.ndarray:
            table = np.array([0 if v is None else v for v in cat.values] or [0], dtype=dtype)
            return table[cat.codes] if n else np.zeros(0, dtype=dtype)

        # same order of additions as decide_one: base, then each adjustment that applies
        total = values(parts[0])
        for p in parts[1:]:
            total = total + values(p)
        return total


def _few_values(values: list, *, number: bool = False) -> np.ndarray:
    """One output column of a few rows decided one by one, typed as :meth:`decide_frame` types it.

    Numbers (scorecard scores, NaN where not computed) as floats, a priority as integers, labels
    as text (the frame makes them pandas' text dtype); never categoricals, which would cost more
    than deciding the rows.
    """
    if number:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if values and all(type(v) in (int, float) for v in values):  # the priority: whole unless an adjustment is not
        return np.array(values, dtype=np.int64 if all(type(v) is int for v in values) else np.float64)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # one by one: a slice assignment would unpack a list of reasons
        out[i] = v
    return out


def _same_cell(value: float, thresholds: Sequence[float]) -> float:
    """A number on the same side of every threshold as ``value`` (strictly between, below or above them)."""
    below = [t for t in thresholds if t < value]
    above = [t for t in thresholds if t > value]
    if len(below) + len(above) < len(thresholds):
        return value  # it is one of the thresholds: written as the configuration writes it
    if not thresholds:
        return 0.0
    if not above:
        return max(below) + 1.0
    if not below:
        return min(above) - 1.0
    return (max(below) + min(above)) / 2


def _reason(rule: Rule, seen: Mapping[str, Any], lang: str) -> dict:
    """One reason of a decision: the rule's id, its text in ``lang`` and its textbook term, if any."""
    reason = {"rule": rule.id, "reason": rule.text(lang, seen)}
    if rule.term is not None:
        reason["term"] = rule.term
    return reason


def _in(value: Any, lang: str) -> Any:
    """An output value as decided in ``lang``: a :class:`Text` becomes its text, anything else stays."""
    return value.get(lang) if isinstance(value, Text) else value


def _join_reasons(reason_cols: list[tuple[np.ndarray, list]], n: int, *,
                  with_json: bool) -> tuple[pd.Series, pd.Categorical | None]:
    """Per row, the list of reasons of the tables that fired, in table order, and its JSON text.

    ``reason_cols`` holds, per table, each row's outcome code and the outcomes' reasons (None:
    the table did not fire). The JSON (only ``with_json``) is joined from each outcome's JSON
    text, made once per table outcome, and equals ``json.dumps(list, ensure_ascii=False)``; it
    comes as a categorical, which Parquet stores once per distinct text.

    Two ways, by how many distinct combinations of outcomes the rows have. Real customer bases
    have few (a million customers, a few thousand): each combination's list and text are built
    once and shared by its rows. Spread-out inputs can give nearly one per row: then the rows'
    lists are zipped from the tables' columns at C speed instead.
    """
    if not n:
        return pd.Series([], dtype=object), (pd.Categorical([]) if with_json else None)
    codes = [c for c, _ in reason_cols]
    texts_u = ([[None if r is None else json.dumps(r, ensure_ascii=False) for r in u] for _, u in reason_cols]
               if with_json else None)
    combo, rep = group_rows(codes, [len(u) for _, u in reason_cols])
    if len(rep) * _ROWS_PER_SHARED_COMBINATION <= n:
        lists = np.empty(len(rep), dtype=object)
        texts = np.empty(len(rep), dtype=object)
        for k, row in enumerate(rep):
            lists[k] = [r for r in (u[c[row]] for c, u in reason_cols) if r is not None]
            if with_json:
                row_texts = (tu[c[row]] for c, tu in zip(codes, texts_u, strict=True))
                texts[k] = "[" + ", ".join(t for t in row_texts if t is not None) + "]"
        reasons = pd.Series(lists[combo], dtype=object)
        if not with_json:
            return reasons, None
        # several combinations can give the same text (a table that did not fire adds nothing)
        text_of_combo, distinct = pd.factorize(texts)
        text_codes = text_of_combo[combo]
    else:
        reasons, texts = _zip_reasons(reason_cols, texts_u, n)
        if not with_json:
            return reasons, None
        text_codes, distinct = pd.factorize(texts)
    return reasons, pd.Categorical.from_codes(text_codes, pd.Index(distinct, dtype=object))


def _zip_reasons(reason_cols: list[tuple[np.ndarray, list]], texts_u: list | None, n: int):
    """Row-by-row lists (and texts): per pattern of which tables fired, zip those tables' columns."""
    fired = [np.array([r is not None for r in u], dtype=bool)[c] for c, u in reason_cols]
    pattern, rep = group_rows([f.astype(np.int64) for f in fired], [2] * len(fired))
    order = np.argsort(pattern, kind="stable")
    bounds = np.searchsorted(pattern[order], np.arange(len(rep) + 1))
    built: list = []
    texts = np.empty(n, dtype=object) if texts_u is not None else None
    with _gc_paused():
        for p, first in enumerate(rep):
            rows = order[bounds[p]:bounds[p + 1]]
            tables = [t for t in range(len(reason_cols)) if fired[t][first]]
            if not tables:
                built.extend([] for _ in rows)
                if texts is not None:
                    texts[rows] = "[]"
                continue
            objs = [Cat(reason_cols[t][0][rows], reason_cols[t][1]).to_objects().tolist() for t in tables]
            built.extend(map(list, zip(*objs, strict=True)))
            if texts is not None:
                parts = [Cat(reason_cols[t][0][rows], texts_u[t]).to_objects().tolist() for t in tables]
                texts[rows] = ["[" + joined + "]" for joined in map(", ".join, zip(*parts, strict=True))]
        # back to row order: built[position[i]] is row i's list
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        lists = operator.itemgetter(*position.tolist())(built) if n > 1 else (built[0],)
    return pd.Series(lists, dtype=object), texts


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building a million small lists: they hold no
    cycles, and collections triggered by the allocations alone cost several seconds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
