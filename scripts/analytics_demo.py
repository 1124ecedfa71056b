"""Print a tenant's analytics as JSON and write its charts as SVG files, from the configured stores.

    .venv/bin/python scripts/analytics_demo.py akanraby 2026-11-01 2026-11-24 --out var/analytics
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grace.analytics import render_charts, tenant_report  # noqa: E402
from grace.errors import GraceError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tenant")
    parser.add_argument("start", type=date.fromisoformat, help="first day, YYYY-MM-DD (tenant's timezone)")
    parser.add_argument("end", type=date.fromisoformat, help="last day, inclusive")
    parser.add_argument("--out", type=Path, help="folder for <chart>.svg files")
    args = parser.parse_args(argv)
    try:
        report = tenant_report(args.tenant, args.start, args.end)
    except GraceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, svg in render_charts(report).items():
            (args.out / f"{name}.svg").write_text(svg, encoding="utf-8")
        print(f"charts written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
