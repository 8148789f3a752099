"""mosaic-ops: dead letters a platform team can act on.

mosaic-ops dlq list                       # by source topic, group and reason, with ages
mosaic-ops dlq show <letter id>           # headers, value, and what differs from the event's schema
mosaic-ops dlq redrive --reason rejected  # back to the source topic, once, recorded
mosaic-ops dlq discard <letter id>        # recorded as needing nothing more
mosaic-ops positions restore --group G --database-url URL   # the group resumes from the database's positions
mosaic-ops replay <svc> --until <instant> --database-url NEW --live-database-url LIVE   # ADR 0020
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from mosaic_dev.ops.ledger import LEDGER_TOPIC, Ledger, load_ledger
from mosaic_dev.ops.letters import Letter, count_letters, dlq_topics, read_letters
from mosaic_dev.ops.redrive import Outcome, discard, redrive
from mosaic_dev.ops.schema_diff import compare

app = typer.Typer(
    help="Operate Mosaic: act on dead letters, restore positions, replay to a point in time.", no_args_is_help=True
)
dlq = typer.Typer(help="Dead letters: list, show, re-drive to the source topic once, discard.", no_args_is_help=True)
app.add_typer(dlq, name="dlq")
console = Console(width=160)

Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers")]
Topics = Annotated[list[str] | None, typer.Option("--topic", help="source topic (repeat; default: all)")]
Reason = Annotated[str | None, typer.Option(help="only letters with this reason, e.g. rejected")]
Group = Annotated[str | None, typer.Option(help="only letters from this consumer group")]
OlderThan = Annotated[float, typer.Option(help="only letters older than this many seconds")]
Yes = Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")]
T = TypeVar("T")


def _load(bootstrap: str, topics: list[str] | None) -> tuple[list[Letter], Ledger]:
    names = dlq_topics(topics)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reading dead letters", total=count_letters(bootstrap, names))
        letters = read_letters(bootstrap, names, lambda n: progress.advance(task, n))
    return letters, load_ledger(bootstrap)


def _select(
    letters: Sequence[Letter],
    ledger: Ledger,
    ids: Sequence[str],
    reason: str | None,
    group: str | None,
    older_than: float,
    include_settled: bool,
) -> list[Letter]:
    chosen = [
        letter
        for letter in letters
        if (not ids or letter.id in ids)
        and (reason is None or letter.reason == reason)
        and (group is None or letter.group == group)
        and letter.age_seconds() >= older_than
        and (include_settled or ledger.settled(letter) is None)
    ]
    missing = set(ids) - {letter.id for letter in letters}
    if missing:
        raise typer.BadParameter(f"no such letter: {', '.join(sorted(missing))} (ids come from `dlq list --letters`)")
    return chosen


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


@dlq.command("list")
def list_letters(
    bootstrap: Bootstrap = "localhost:9092",
    topic: Topics = None,
    reason: Reason = None,
    group: Group = None,
    older_than: OlderThan = 0.0,
    letters: Annotated[bool, typer.Option("--letters", help="one line per letter")] = False,
    include_settled: Annotated[bool, typer.Option("--all", help="include re-driven and discarded")] = False,
) -> None:
    """Dead letters by source topic, group and reason, with the oldest and newest age."""
    found, ledger = _load(bootstrap, topic)
    chosen = _select(found, ledger, (), reason, group, older_than, include_settled)
    summary = Table("source topic", "group", "reason", "letters", "oldest", "newest", title="Dead letters")
    keyed: dict[tuple[str, str, str], list[Letter]] = {}
    for letter in chosen:
        keyed.setdefault((letter.source_topic, letter.group, letter.reason), []).append(letter)
    for (source_topic, grp, why), items in sorted(keyed.items()):
        ages = [item.age_seconds() for item in items]
        summary.add_row(source_topic, grp, why, str(len(items)), _age(max(ages)), _age(min(ages)))
    console.print(summary)
    if letters:
        table = Table("letter", "reason", "group", "age", "status", "error", title="Letters")
        for letter in chosen:
            settled = ledger.settled(letter)
            table.add_row(
                letter.id,
                letter.reason,
                letter.group,
                _age(letter.age_seconds()),
                settled["action"] if settled else "waiting",
                letter.error[:70],
            )
        console.print(table)
    console.print(f"{len(chosen)} letter(s) waiting" if not include_settled else f"{len(chosen)} letter(s)")


@dlq.command()
def show(letter_id: str, bootstrap: Bootstrap = "localhost:9092") -> None:
    """One letter: its headers, its value, and a readable diff against its event's JSON Schema."""
    topic = letter_id.rsplit(":", 2)[0]
    found, ledger = _load(bootstrap, [topic])
    [letter] = _select(found, ledger, [letter_id], None, None, 0.0, include_settled=True)
    headers = Table("header", "value", title=f"Letter {letter.id}")
    headers.add_row("key", (letter.key or b"").decode(errors="replace"))
    headers.add_row("dead-lettered at", f"{letter.recorded_at.isoformat()} ({_age(letter.age_seconds())} ago)")
    for name, value in letter.headers:
        headers.add_row(name, value.decode(errors="replace"))
    settled = ledger.settled(letter)
    headers.add_row("status", f"{settled['action']} by {settled['by']} at {settled['at']}" if settled else "waiting")
    console.print(headers)
    try:
        console.print_json(letter.value.decode())
    except (ValueError, UnicodeDecodeError):
        console.print(repr(letter.value[:2000]))
    report = compare(letter.value)
    console.print(f"[bold]Schema:[/bold] {report.compared_with or '(none)'} — {report.verdict}")
    if report.differences:
        diff = Table("where", "- the letter has", "+ the schema expects", title="Differences from the schema")
        for difference in report.differences:
            diff.add_row(difference.where, f"[red]- {difference.has}[/red]", f"[green]+ {difference.expected}[/green]")
        console.print(diff)


def _act(
    verb: str,
    action: Callable[..., Outcome],
    bootstrap: str,
    ids: Sequence[str],
    topic: list[str] | None,
    reason: str | None,
    group: str | None,
    older_than: float,
    yes: bool,
) -> Outcome:
    if not ids and reason is None and group is None and not topic:
        raise typer.BadParameter(f"name the letters to {verb}, or select them with --reason, --group or --topic")
    topics = topic or sorted({i.rsplit(":", 2)[0] for i in ids}) or None
    found, ledger = _load(bootstrap, topics)
    chosen = _select(found, ledger, ids, reason, group, older_than, include_settled=bool(ids))
    counts = Counter((letter.source_topic, letter.reason) for letter in chosen)
    for (source_topic, why), n in sorted(counts.items()):
        console.print(f"  {n} {why} letter(s) from {source_topic}")
    if chosen and not yes and not typer.confirm(f"{verb} {len(chosen)} letter(s)?"):
        raise typer.Abort()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(verb, total=len(chosen))
        outcome = action(bootstrap, chosen, ledger, lambda n: progress.advance(task, n))
    return outcome


@dlq.command("redrive")
def redrive_letters(
    ids: Annotated[list[str] | None, typer.Argument(help="letter ids")] = None,
    bootstrap: Bootstrap = "localhost:9092",
    topic: Topics = None,
    reason: Reason = None,
    group: Group = None,
    older_than: OlderThan = 0.0,
    yes: Yes = False,
) -> None:
    """Send the selected letters back to their source topic, once per dead-lettered record, recorded."""
    outcome = _act("re-drive", redrive, bootstrap, ids or [], topic, reason, group, older_than, yes)
    console.print(
        f"re-driven: {len(outcome.done)} record(s); already re-driven before: {len(outcome.skipped)}"
        f" (recorded in {LEDGER_TOPIC})"
    )


@dlq.command("discard")
def discard_letters(
    ids: Annotated[list[str] | None, typer.Argument(help="letter ids")] = None,
    bootstrap: Bootstrap = "localhost:9092",
    topic: Topics = None,
    reason: Reason = None,
    group: Group = None,
    older_than: OlderThan = 0.0,
    yes: Yes = False,
) -> None:
    """Record the selected letters as needing nothing more; `list` stops showing them."""
    outcome = _act("discard", discard, bootstrap, ids or [], topic, reason, group, older_than, yes)
    console.print(
        f"discarded: {len(outcome.done)}; already settled: {len(outcome.skipped)} (recorded in {LEDGER_TOPIC})"
    )


positions = typer.Typer(
    help="Consumer positions: after a restore, resume from what the database holds.", no_args_is_help=True
)
app.add_typer(positions, name="positions")


@positions.command("restore")
def restore_positions(
    group: Annotated[str, typer.Option(help="the service's consumer group, e.g. mosaic-mastery")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL", help="the restored database")],
    bootstrap: Bootstrap = "localhost:9092",
    topic: Topics = None,
    yes: Yes = False,
) -> None:
    """Set the group's Kafka offsets to the positions stored in the (restored) database; the service is stopped."""
    import asyncio

    from mosaic_dev.ops import positions as ops_positions

    stored = asyncio.run(ops_positions.stored_positions(database_url, group))
    rewinds = ops_positions.plan(bootstrap, group, stored, set(topic or ()))
    table = Table(
        "topic",
        "partition",
        "group's offset",
        "stored position",
        "records to apply again",
        title=f"Positions of {group}",
    )
    for r in rewinds:
        table.add_row(r.topic, str(r.partition), str(r.committed), str(r.stored), str(r.behind))
    console.print(table)
    if not rewinds:
        raise typer.BadParameter(f"no positions stored for {group!r} and no --topic given: nothing to set")
    if not yes and not typer.confirm(f"set {len(rewinds)} offset(s) of {group}?"):
        raise typer.Abort()
    try:
        ops_positions.apply(bootstrap, group, rewinds)
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"{group} resumes from its stored positions: {sum(r.behind for r in rewinds)} record(s) "
        "will be applied again (the state does not have them yet)"
    )


def _named_offsets(given: list[str]) -> dict[str, int]:
    """["<topic>/<partition>=<offset>", …] → {"<topic>/<partition>": offset}."""
    named: dict[str, int] = {}
    for item in given:
        where, _, offset = item.rpartition("=")
        if "/" not in where or not offset.isdigit() or not where.rsplit("/", 1)[1].isdigit():
            raise typer.BadParameter(f"--until-offset {item!r}: write <topic>/<partition>=<offset>, e.g. t/0=42")
        named[where] = int(offset)
    return named


@app.command("replay")
def replay(
    service: Annotated[str, typer.Argument(help="mastery, scheduling or notify")],
    database_url: Annotated[str, typer.Option(help="a new, empty database for the replayed state")],
    live_database_url: Annotated[str, typer.Option(help="the live database: what the log lacks is copied")],
    bootstrap: Bootstrap = "localhost:9092",
    until: Annotated[
        datetime | None, typer.Option(help="replay what was written before this instant (ISO 8601, UTC)")
    ] = None,
    until_offset: Annotated[
        list[str] | None,
        typer.Option(help="<topic>/<partition>=<offset>: stop that partition before the offset (repeat)"),
    ] = None,
    wait_seconds: Annotated[
        float, typer.Option(help="scheduling, notify: how long to wait for the stopped service's group to empty")
    ] = 30.0,
) -> None:
    """Rebuild a service's state from the log up to a point in time into a new database (nothing is published,
    nothing delivered). Stop scheduling and notify first: what they told is carried from the live database.

    Then stop the service, `mosaic-ops positions restore --group <its group> --database-url <new>`, and start
    it on the new database: it carries on from the cut-off.
    """
    import asyncio

    from mosaic_dev.ops.replay import replay_until

    if until is None and not until_offset:
        raise typer.BadParameter("say where to stop: --until <instant>, or --until-offset <topic>/<partition>=<n>")
    moment = None if until is None else until if until.tzinfo else until.replace(tzinfo=UTC)
    offsets = _named_offsets(until_offset or [])
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"replaying {service}", total=None)
        try:
            summary = asyncio.run(
                replay_until(
                    service,
                    database_url,
                    bootstrap,
                    live_url=live_database_url,
                    until_ms=None if moment is None else int(moment.timestamp() * 1000),
                    until_offsets=offsets,
                    advance=lambda n: progress.advance(task, n),
                    wait_seconds=wait_seconds,
                )
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    to = moment.isoformat() if moment else "the offsets named"
    table = Table("topic/partition", "replayed up to (exclusive)", title=f"{service} replayed to {to}")
    for position, offset in sorted(summary.cutoffs.items()):
        table.add_row(position, str(offset))
    console.print(table)
    console.print(f"copied {summary.copied} row(s) the log does not hold from the live database")
    if summary.carried or summary.discarded:
        console.print(
            f"carried {summary.carried} row(s) of what {service} told from the live database "
            f"({summary.discarded} decided again by the replay, discarded)"
        )
    if summary.unsent:
        console.print(f"{summary.unsent} event(s) the live service had not published yet: the new database owes them")
    console.print(
        f"applied {summary.applied} record(s) ({summary.dead_lettered} unreadable, as live); "
        f"{summary.emitted} emission(s) decided again and marked sent, not published"
    )
