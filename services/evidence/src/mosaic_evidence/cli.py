"""`mosaic-evidence`: the evidence service's command line (migrate, bulk-import evidence, erase a person)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from mosaic_evidence.settings import EvidenceSettings
from mosaic_runtime.cli import migrate_command

# Each command imports what it needs when it runs: `migrate` need not load Kafka.
if TYPE_CHECKING:
    from mosaic_evidence.bulk.importer import ImportOptions, ImportProgress, ImportSummary

app = typer.Typer(help="Mosaic evidence service tools.", no_args_is_help=True)
console = Console(stderr=True)


app.command("migrate", help="Upgrade the database to the latest schema (what the Kubernetes migration Job runs).")(
    migrate_command(EvidenceSettings, "mosaic_evidence.main")
)


@app.command("import-evidence")
def import_evidence_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row")],
    district: Annotated[str, typer.Option(help="the district the evidence belongs to (its sourcedId)")],
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers [env KAFKA_BOOTSTRAP_SERVERS]")] = None,
    topic: Annotated[str, typer.Option(help="target topic")] = "mosaic.evidence.v1",
    framework: Annotated[Path | None, typer.Option(help="CASE CFPackage JSON to check competencies against")] = None,
    roster: Annotated[Path | None, typer.Option(help="OneRoster CSV folder to check students and recorders")] = None,
    resume: Annotated[bool, typer.Option(help="continue an interrupted import from its checkpoint")] = False,
    checkpoint: Annotated[Path | None, typer.Option(help="checkpoint file [FILE.checkpoint.json]")] = None,
    rejects: Annotated[Path | None, typer.Option(help="rejected rows and reasons [FILE.rejects.csv]")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    checkpoint_seconds: Annotated[float, typer.Option(help="how often to save the checkpoint")] = 1.0,
) -> None:
    """Import historical evidence from CSV into the evidence topic; resumable, without duplicates."""
    from mosaic_evidence.bulk.checkpoint import CheckpointMismatch
    from mosaic_evidence.bulk.importer import ImportFailed, ImportOptions
    from mosaic_evidence.bulk.producer import import_producer_config
    from mosaic_evidence.bulk.reference_files import ReferenceFilesError, reference_view_from_files
    from mosaic_evidence.bulk.rows import HeaderError
    from mosaic_evidence.bulk.topic import TopicMissing

    if (framework is None) != (roster is None):
        raise typer.BadParameter("pass both --framework and --roster (to check rows against them) or neither")
    servers = bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        raise typer.BadParameter("no broker: pass --bootstrap host:port or set KAFKA_BOOTSTRAP_SERVERS")
    try:
        view = reference_view_from_files(district, framework, roster) if framework and roster else None
        options = ImportOptions(
            path=file,
            district_id=district,
            producer_config=import_producer_config(servers),
            topic=topic,
            checkpoint_path=checkpoint,
            rejects_path=rejects,
            resume=resume,
            view=view,
            today=date.today(),
            checkpoint_seconds=checkpoint_seconds,
        )
        summary = _run_with_progress(options, progress)
    except (ImportFailed, CheckpointMismatch, HeaderError, TopicMissing, ReferenceFilesError) as exc:
        console.print(f"[red]import stopped:[/red] {exc}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print(
            "[yellow]interrupted:[/yellow] the checkpoint holds every acknowledged row; "
            "run the same command with --resume to continue"
        )
        raise typer.Exit(130) from None
    _print_summary(summary)


@app.command("erase-person")
def erase_person_command(
    person: Annotated[str, typer.Argument(help="the person's sourcedId (a student, guardian, teacher...)")],
    district: Annotated[str, typer.Option(help="the district the person belongs to (its sourcedId)")],
    url: Annotated[
        str, typer.Option(envvar="MOSAIC_EVIDENCE_URL", help="the evidence service")
    ] = "http://127.0.0.1:8081",
    token: Annotated[str, typer.Option(envvar="MOSAIC_TOKEN", help="a district administrator's bearer token")] = "",
) -> None:
    """Erase a person through the running service (ADR 0019): it answers once PersonErased is on the log."""
    import json
    import urllib.error
    import urllib.request

    if not token:
        console.print("[red]no token:[/red] set MOSAIC_TOKEN (or --token) to a district administrator's token")
        raise typer.Exit(2)
    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/districts/{district}/people/{person}/erasure",
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"erasure-{person}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            body = json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        console.print(f"[red]not erased ({refused.code}):[/red] {refused.read().decode(errors='replace')}")
        raise typer.Exit(1) from None
    Console().print(
        f"erased {body['role']} {person}: erasure {body['erasure_id']}, "
        f"{body['evidence_anonymized']} evidence anonymized; every service purges on PersonErased"
    )


def _run_with_progress(options: ImportOptions, show: bool) -> ImportSummary:
    from mosaic_evidence.bulk.importer import import_evidence

    columns = (
        TextColumn("[bold]importing"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TextColumn("{task.fields[rate]:>9,.0f} rows/s"),
        TextColumn("{task.fields[rejected]:,} rejected"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not show, transient=False) as bar:
        task = bar.add_task("import", total=options.path.stat().st_size, rows=0, rate=0.0, rejected=0)
        started = time.monotonic()
        first_row: list[int] = []

        def update(report: ImportProgress) -> None:
            first_row[:] = first_row or [report.rows]
            elapsed = max(time.monotonic() - started, 1e-6)
            _advance(bar, task, report, (report.rows - first_row[0]) / elapsed)

        return asyncio.run(import_evidence(options, update))


def _advance(bar: Progress, task: TaskID, report: ImportProgress, rate: float) -> None:
    bar.update(task, completed=report.bytes_read, rows=report.rows, rate=rate, rejected=report.rejected)


def _print_summary(summary: ImportSummary) -> None:
    table = Table(title="evidence import", show_header=False)
    table.add_row("rows read", f"{summary.rows:,}")
    table.add_row("accepted", f"{summary.accepted:,}")
    table.add_row(
        "rejected", f"{summary.rejected:,}" + (f" (reasons in {summary.rejects_file})" if summary.rejected else "")
    )
    if summary.resumed_from_row:
        table.add_row("resumed after row", f"{summary.resumed_from_row:,}")
        table.add_row("found already on the topic", f"{summary.already_on_topic:,}")
    table.add_row("time", f"{summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s)")
    for reason, count in summary.reasons.most_common(8):
        table.add_row(f"  {reason}", f"{count:,}")
    Console().print(table)


if __name__ == "__main__":
    app()
