"""``registry export``: a collection as CSV or NDJSON, through the API (so with its access
rules), to a file or standard output."""

import argparse
import contextlib
import sys

from services.settings import Settings, get_settings


def _local_api_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - a bind-all address names no host to call
    return f"http://{host}:{settings.port}"


def command_export(args: argparse.Namespace) -> None:
    """Export a collection as CSV or NDJSON through the API: every row your key may see."""
    from pathlib import Path

    import httpx

    media_type = {"csv": "text/csv", "ndjson": "application/x-ndjson"}[args.format]
    filters = []
    for pair in args.filter:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            sys.exit(f"registry export: --filter takes NAME=VALUE, got {pair!r}")
        filters.append((name, value))
    if args.format == "csv":
        filters.append(("header", args.header))
    base_url = (args.base_url or _local_api_url(get_settings())).rstrip("/")
    url = f"{base_url}/v1/{args.collection.strip('/')}"
    headers = {"Accept": media_type, "Authorization": f"Bearer {args.api_key}"}
    # A file appears only once the export is whole: written beside it, then renamed.
    partial = Path(f"{args.output}.partial") if args.output else None
    started = completed = False
    try:
        with (
            httpx.stream("GET", url, params=filters, headers=headers, timeout=httpx.Timeout(30, read=None)) as response,
            partial.open("wb") if partial else contextlib.nullcontext(sys.stdout.buffer) as output,
        ):
            if response.status_code != 200:
                response.read()
                try:
                    detail = response.json().get("detail", response.text)
                except ValueError:
                    detail = response.text
                sys.exit(f"registry export: {response.status_code} from {url}: {detail}")
            started = True
            for chunk in response.iter_bytes():
                output.write(chunk)
            completed = True
    except httpx.TransportError as error:
        if started:
            sys.exit(f"registry export: the export from {url} stopped before its end ({error}); run it again")
        sys.exit(f"registry export: cannot reach the API at {base_url} ({error}); is it running? (--base-url)")
    finally:
        if partial and not completed:
            partial.unlink(missing_ok=True)
    if partial:
        partial.replace(args.output)
        print(f"wrote {args.output}", file=sys.stderr)


def add_export_arguments(sub: argparse.ArgumentParser) -> None:
    """``registry export``'s arguments."""
    sub.add_argument(
        "collection",
        help="the list to export, as its path under /v1: entities, memberships, events, audit-log, "
        "networks/<id>/memberships, networks/<id>/posts, working-groups/<id>/members, workplans, "
        "workplans/<id>/activities, networks/<id>/champion-countries, pledges, people and "
        "people/<id>/posts (admins only)...",
    )
    sub.add_argument("--format", choices=("csv", "ndjson"), default="csv", help="csv (default) or ndjson")
    sub.add_argument(
        "--header",
        choices=("labels", "fields"),
        default="labels",
        help="a CSV header for people (labels, the default) or the API's field names (fields)",
    )
    sub.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a filter of the list route, e.g. --filter kind=un_system (repeatable)",
    )
    sub.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    sub.add_argument("--api-key", required=True, help="your API key: the export holds what it may read")
    sub.add_argument("--base-url", help="the API's address (default: http://HOST:PORT from the settings)")
