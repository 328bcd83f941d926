"""Side by side: the page times of two or more ``admin_pages.py --json`` runs, as a Markdown table.

    .venv/bin/python benchmarks/pages_side_by_side.py plain-1.json,plain-2.json part-1.json,part-2.json

Each argument is one column: a JSON file written by ``admin_pages.py --json``, or several
comma-separated (runs of the same database, alternated with the other column's), whose
medians are taken page by page. The last column is the ratio of the second column to the
first. Rows follow the first file's page order; a page missing from a column shows "-".
"""

import json
import statistics
import sys
from pathlib import Path


def load(argument: str) -> tuple[str, dict[tuple[str, str], list[dict]], list[tuple[str, str]], list[dict]]:
    runs = [json.loads(Path(name).read_text()) for name in argument.split(",")]
    figures: dict[tuple[str, str], list[dict]] = {}
    order: list[tuple[str, str]] = []
    for run in runs:
        for row in run["pages"]:
            key = (row["page"], row["user"])
            if key not in figures:
                order.append(key)
            figures.setdefault(key, []).append(row)
    return runs[0]["label"], figures, order, runs


def main(arguments: list[str]) -> int:
    if len(arguments) < 2:
        print(__doc__)
        return 2
    columns = [load(argument) for argument in arguments]
    for label, _, _, runs in columns:
        loads = "; ".join(", ".join(f"{value:.2f}" for value in run["load_average"]) for run in runs)
        print(
            f"- {label}: {runs[0]['messages']:,} messages (planner estimate), {runs[0]['departments']} departments, "
            f"schema {runs[0]['schema']}, {len(runs)} run(s) of RUNS={runs[0]['runs']}, "
            f"{', '.join(run['measured_at'] for run in runs)}, load average {loads}"
        )
    print()
    heads = [f"{label} ms" for label, *_ in columns]
    ratio = f"{columns[1][0]} / {columns[0][0]}"
    labels = " / ".join(label for label, *_ in columns)
    print("| page | user | " + " | ".join(heads) + f" | {ratio} | SQL ms, {labels} | queries |")
    print("|---|---|" + "---:|" * len(heads) + "---:|---:|---|")
    for key in columns[0][2]:
        medians, sql = [], []
        for _, figures, _, _ in columns:
            rows = figures.get(key)
            medians.append(statistics.median(row["median_ms"] for row in rows) if rows else None)
            sql.append(f"{statistics.median(row['sql_ms'] for row in rows):,.0f}" if rows else "-")
        shown = [f"{value:,.1f}" if value is not None else "-" for value in medians]
        quotient = f"{medians[1] / medians[0]:.2f}" if None not in medians[:2] and medians[0] else "-"
        queries = " / ".join(str(figures[key][0]["queries"]) if key in figures else "-" for _, figures, _, _ in columns)
        slow = " (timed once)" if any(row["runs"] == 1 for _, f, _, _ in columns for row in f.get(key, [])) else ""
        cells = " | ".join(shown)
        print(f"| {key[0]}{slow} | {key[1]} | {cells} | {quotient} | {' / '.join(sql)} | {queries} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
