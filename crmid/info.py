"""``crmid info``: the resolved workspace, the champion model and the latest stored run."""

from __future__ import annotations

from crmid.config import Workspace

__all__ = ["describe_workspace", "workspace_info"]


def _champion(workspace: Workspace) -> dict | None:
    """``{"model", "version", "run_id"}``, None when there is no champion, ``{"error"}`` when unreachable."""
    try:
        from crmid.training.tracking import Tracker

        mv = Tracker(workspace).champion()
    except Exception as exc:
        return {"error": f"tracking store unreachable: {type(exc).__name__}: {exc}"}
    if mv is None:
        return None
    return {"model": workspace.model_name, "version": str(mv.version), "run_id": mv.run_id}


def _latest_run(workspace: Workspace) -> dict | None:
    """The latest complete stored run; None when there is none; ``{"error"}`` when the store is off or unreachable."""
    if not workspace.store_enabled:
        return {"error": "store turned off"}
    try:
        from crmid.serving.store import open_store

        with open_store(workspace.store_url) as store:
            latest = store.latest_run()
    except Exception as exc:
        return {"error": f"store unreachable: {type(exc).__name__}: {exc}"}
    if latest is None:
        return None
    return {"run_id": latest.run_id, "as_of": str(latest.as_of), "scored": latest.n_scored,
            "rejected": latest.n_rejected, "model_version": latest.model_version,
            "rules_version": latest.rules_version, "finished_at": str(latest.finished_at)}


def workspace_info(workspace: Workspace) -> dict:
    """What ``crmid info --format json`` prints: every setting with its value and source, the champion, the latest run.

    ``champion`` and ``latest_run`` are None when there is none yet, ``{"error": ...}`` when
    they cannot be read. The API token is never shown.
    """
    return {
        "settings": [{"name": name, "value": value, "source": source}
                     for name, value, source in workspace.describe()],
        "champion": _champion(workspace),
        "latest_run": _latest_run(workspace),
    }


def describe_workspace(workspace: Workspace, info: dict | None = None) -> str:
    """A plain-text report: each setting with its value and source, the champion, the latest run."""
    info = info or workspace_info(workspace)
    rows = [(s["name"], s["value"], s["source"]) for s in info["settings"]]
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{'setting':<{width}}  {'source':<34}  value"]
    lines += [f"{name:<{width}}  {source:<34}  {value}" for name, value, source in rows]
    lines.append("")
    champion, latest = info["champion"], info["latest_run"]
    if champion is None:
        champion_text = (f"none: no {workspace.model_name}@{workspace.model_alias} yet "
                         "(train one with `crmid train --transactions FILE --as-of DATE`)")
    elif "error" in champion:
        champion_text = champion["error"]
    else:
        champion_text = f"{champion['model']}/{champion['version']} (run {champion['run_id']})"
    if latest is None:
        latest_text = "none yet (run `crmid score`)"
    elif "error" in latest:
        latest_text = latest["error"]
    else:
        latest_text = (f"{latest['run_id']}: as of {latest['as_of']}, {latest['scored']:,} scored + "
                       f"{latest['rejected']:,} rejected, model {latest['model_version']}, "
                       f"rules {latest['rules_version']}, finished {latest['finished_at']}")
    lines.append(f"champion    {champion_text}")
    lines.append(f"latest run  {latest_text}")
    return "\n".join(lines)
