"""``clienthub folders``: check client folders against their template, plan and apply fixes.

Run on the server, the command line acts as an admin does and the audit trail names it;
``--by`` names the admin doing it instead, and an approval, an undo or a new client's tree
is always a named admin's decision, so the record says who.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_common import ID_MAX, ByOpt, acting, admin_named, err, open_database, out, work
from hub.errors import InvalidInput

if TYPE_CHECKING:
    from rich.table import Table
    from sqlalchemy.orm import Session

    from hub.folders.models import FolderAction
    from hub.folders.planning import PlanReport

folders_app = typer.Typer(no_args_is_help=True, help="Client folders and their template.")
template_app = typer.Typer(no_args_is_help=True, help="The folder templates.")
folders_app.add_typer(template_app, name="template")

ClientOpt = Annotated[int | None, typer.Option("--client", min=1, max=ID_MAX,
                                               help="Only this client id")]
AccountOpt = Annotated[int | None, typer.Option("--account", min=1, max=ID_MAX,
                                                help="Only this drive account")]
AdminOpt = Annotated[str, typer.Option("--by", help="Email of the admin deciding this")]
GroupOpt = Annotated[int | None, typer.Option("--group", min=1, max=ID_MAX,
                                              help="A client group's template instead of "
                                                   "the default")]


def _arrow(action: FolderAction) -> str:
    return f"{action.path} -> {action.target}" if action.target else action.path


def _actions_table(actions: list[FolderAction], title: str) -> Table:
    from rich.table import Table

    table = Table("id", "client", "fix", "path", "status", "note", title=title)
    for a in actions:
        note = a.error or a.result or a.detail
        table.add_row(str(a.id), str(a.client_id), a.kind, _arrow(a), a.status, note)
    return table


@folders_app.command("check")
def check(client: ClientOpt = None, account: AccountOpt = None, by: ByOpt = None) -> None:
    """Show how each client folder differs from its template (from the latest sync)."""
    from rich.table import Table

    from hub.folders import service
    from hub.timeutil import firm_today

    found = work(lambda s: service.drift(s, acting(s, by), firm_today(), account_id=account,
                                         client_id=client))
    if not found:
        out.print("No client folder is mapped yet: sync a drive account first "
                  "(clienthub sync), or create a client's folders (clienthub folders tree).")
        return
    total = 0
    for drift in found:
        title = f"{drift.customer_number} {drift.client_name}  [dim]{drift.root}/[/dim]"
        if not drift.findings:
            out.print(f"[green]OK[/green] {title}")
            continue
        table = Table("finding", "path", "proposed", "why", title=title, title_justify="left")
        for f in drift.findings:
            table.add_row(f.kind.replace("_", " "), f.path, f.proposed or "", f.detail)
        out.print(table)
        total += len(drift.findings)
    out.print(f"{len(found)} client folders checked for fiscal year {found[0].year}, "
              f"{total} findings. Plan the fixes: clienthub folders plan")


@folders_app.command("plan")
def plan(client: ClientOpt = None, account: AccountOpt = None, by: ByOpt = None) -> None:
    """Store the fixes for what the check finds; approvals still wanted are kept."""
    from hub.folders import service
    from hub.timeutil import firm_today

    def run(session: Session) -> tuple[PlanReport, list[FolderAction]]:
        report = service.plan(session, acting(session, by), firm_today(), account_id=account,
                              client_id=client)
        return report, report.actions

    report, actions = work(run)
    if actions:
        out.print(_actions_table(actions, f"Fixes for fiscal year {report.year}"))
    out.print(f"{len(report.created)} new, {len(report.kept)} kept, {report.stale} no longer "
              f"needed, {report.by_hand} findings to fix by hand.")
    waiting = [a.id for a in actions if a.status == "proposed"]
    if waiting:
        out.print(f"Approve with: clienthub folders approve --by ADMIN_EMAIL "
                  f"{' '.join(map(str, waiting[:8]))}{' ...' if len(waiting) > 8 else ''}")


@folders_app.command("approve")
def approve(ids: Annotated[list[int], typer.Argument(min=1, max=ID_MAX, help="Action ids")],
            by: AdminOpt) -> None:
    """Approve proposed (or failed) actions so that the next apply carries them out."""
    from hub.folders import service

    def run(session: Session) -> list[FolderAction]:
        principal = admin_named(session, by)
        return [service.approve(session, principal, i) for i in ids]

    done = work(run)
    out.print(f"{len(done)} actions approved. Carry them out: clienthub folders apply --by {by}")


@folders_app.command("apply")
def apply(account: AccountOpt = None,
          action: Annotated[list[int] | None, typer.Option(min=1, max=ID_MAX,
                                                            help="Only this action id")] = None,
          by: ByOpt = None) -> None:
    """Carry out the approved actions on the drives; exits 1 if any failed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from connectors import registry
    from hub.db import make_session_factory
    from hub.flows.folders import apply_approved
    from hub.folders import service

    factory = make_session_factory(open_database())
    with factory() as session:
        principal = acting(session, by)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("Applying", total=None)

        def step(done: FolderAction, n: int, total: int) -> None:
            bar.update(task, completed=n, total=total,
                       description=f"{done.kind} {done.path[-40:]}: {done.status}")

        report = apply_approved(factory, registry, principal, account_id=account,
                                action_ids=action, progress=step)
    with factory() as session:
        failed = service.actions_by_ids(session, None, report.failed)
    out.print(f"{len(report.applied)} applied, {len(report.failed)} failed, "
              f"{len(report.skipped)} left for the next run.")
    if failed:
        err.print(_actions_table(failed, "Failed (the drive was left as it was)"))
        raise typer.Exit(1)


@folders_app.command("undo")
def undo(action_id: Annotated[int, typer.Argument(min=1, max=ID_MAX)], by: AdminOpt) -> None:
    """Undo an applied action: move back, or remove a created folder that is still empty."""
    from connectors import registry
    from hub.db import make_session_factory
    from hub.flows.folders import undo as undo_job

    factory = make_session_factory(open_database())
    with factory() as session:
        principal = admin_named(session, by)
    done = undo_job(factory, registry, principal, action_id)
    out.print(f"Action {done.id} undone: {done.result}")


@folders_app.command("tree")
def tree(client: Annotated[int, typer.Option("--client", min=1, max=ID_MAX, help="The client id")],
         account: Annotated[int, typer.Option("--account", min=1, max=ID_MAX,
                                              help="The drive account")],
         by: AdminOpt) -> None:
    """Create a client's folders from its template, its root folder too if missing."""
    from connectors import registry
    from hub.db import make_session_factory
    from hub.flows.folders import create_client_tree

    factory = make_session_factory(open_database())
    with factory() as session:
        principal = admin_named(session, by)
    actions, report = create_client_tree(factory, registry, principal, client, account)
    out.print(_actions_table(actions, "Client folders"))
    if report.failed:
        raise typer.Exit(1)


@folders_app.command("settings")
def settings(
    auto_create: Annotated[bool | None, typer.Option(
        "--auto-create/--no-auto-create", help="Create missing folders without asking")] = None,
    lead_days: Annotated[int | None, typer.Option(
        help="Days before a fiscal year that its folders are required")] = None,
    by: ByOpt = None,
) -> None:
    """Show or change how folder enforcement may act on its own."""
    from hub.folders import templates
    from hub.folders.schemas import FolderSettingsIn

    def run(session: Session) -> tuple[bool, int]:
        if auto_create is not None or lead_days is not None:
            data = FolderSettingsIn(auto_create=auto_create, year_lead_days=lead_days)
            templates.update_folder_settings(session, acting(session, by), data)
        row = templates.folder_settings(session)
        return row.auto_create, row.year_lead_days

    auto, lead = work(run)
    out.print(f"Missing folders are created {'automatically' if auto else 'after approval'}; "
              f"next fiscal year's folders are required {lead} days ahead.")


@template_app.command("show")
def template_show(group: GroupOpt = None) -> None:
    """Print a template in the text format 'template set' reads."""
    from hub.folders import templates

    shown = work(lambda s: templates.describe_default(s) if group is None
                 else templates.describe_group(s, group))
    if group is not None and shown.scope != str(group):
        err.print(f"[dim]Client group {group} has no template of its own; it follows the "
                  "default:[/dim]")
    out.print(shown.text, markup=False, highlight=False, end="")


@template_app.command("set")
def template_set(
    file: Annotated[Path, typer.Option("--file", help="The template in the text format")],
    group: GroupOpt = None,
    past_years: Annotated[int | None, typer.Option(help="Fiscal years back")] = None,
    next_years: Annotated[int | None, typer.Option(help="Fiscal years ahead")] = None,
    by: ByOpt = None,
) -> None:
    """Store a template (the default, or a client group's own)."""
    from hub.folders import templates
    from hub.folders.schemas import TemplateIn

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file} ({exc}); give a UTF-8 text file") from exc
    data = TemplateIn(text=text, past_years=past_years, next_years=next_years)
    stored = work(lambda s: templates.set_default_template(s, acting(s, by), data)
                  if group is None else templates.set_group_template(s, acting(s, by), group,
                                                                     data))
    where = "the default" if group is None else f"client group {group}'s"
    out.print(f"Stored as {where} template: {len(stored.folders)} top-level folders, "
              f"{stored.past_years} years back, {stored.next_years} ahead.")
