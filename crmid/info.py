"""``crmid info``: the resolved workspace, the champion model and the latest stored run."""

from __future__ import annotations

from crmid.config import Workspace

__all__ = ["describe_workspace"]


def _champion(workspace: Workspace) -> str:
    try:
        from crmid.training.tracking import Tracker

        mv = Tracker(workspace).champion()
    except Exception as exc:
        return f"tracking store unreachable: {type(exc).__name__}: {exc}"
    if mv is None:
        return (f"none: no {workspace.model_name}@{workspace.model_alias} yet "
                "(train one with `crmid train --transactions FILE --as-of DATE`)")
    return f"{workspace.model_name}/{mv.version} (run {mv.run_id})"


def _latest_run(workspace: Workspace) -> str:
    if not workspace.store_enabled:
        return "store turned off"
    try:
        from crmid.serving.store import open_store

        latest = open_store(workspace.store_url).latest_run()
    except Exception as exc:
        return f"store unreachable: {type(exc).__name__}: {exc}"
    if latest is None:
        return "none yet (run `crmid score`)"
    return (f"{latest.run_id}: as of {latest.as_of}, {latest.n_scored:,} scored + {latest.n_rejected:,} rejected, "
            f"model {latest.model_version}, rules {latest.rules_version}, finished {latest.finished_at}")


def describe_workspace(workspace: Workspace) -> str:
    """A plain-text report: each setting with its value and source, the champion, the latest run."""
    rows = workspace.describe()
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{'setting':<{width}}  {'source':<34}  value"]
    lines += [f"{name:<{width}}  {source:<34}  {value}" for name, value, source in rows]
    lines.append("")
    lines.append(f"champion    {_champion(workspace)}")
    lines.append(f"latest run  {_latest_run(workspace)}")
    return "\n".join(lines)
