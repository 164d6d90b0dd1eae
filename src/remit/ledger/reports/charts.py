"""Pictures of deferred revenue: the waterfall as a heatmap, the rollforward as bars and a line.

Matplotlib's object API on the Agg canvas (no pyplot, no display, no global backend
switch). The file's extension picks PNG or SVG. Amounts are plotted in minor units
and only their axis and cell labels are written in major units (``major_units``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from remit.ledger.reports.model import Report, major_units
from remit.ledger.reports.revenue import RELEASED, UNRECOGNIZED
from remit.primitives.errors import InvalidRequestError

FORMATS = {".png": "png", ".svg": "svg"}
CHARTED = frozenset({"revenue_waterfall", "deferred_revenue_rollforward"})
DPI = 120
_SHOWN = {UNRECOGNIZED: "not yet\nrecognized", RELEASED: "released\nunearned"}
# A fixed salt and no date keep SVG output identical from run to run (determinism).
_STYLE: dict[Any, Any] = {"svg.hashsalt": "remit-ledger-report", "font.size": 9}


def write_chart(report: Report, path: Path, currency: str | None = None) -> Path:
    """Draw ``report`` (waterfall or rollforward) for one currency into ``path``."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidRequestError("A chart is written as .png or .svg.", param="chart")
    if report.name not in CHARTED:
        raise InvalidRequestError(
            f"Only {' and '.join(sorted(CHARTED))} have charts.", param="chart"
        )
    currencies = sorted({str(row[0]) for row in report.rows})
    chosen = currency or (currencies[0] if currencies else "usd")
    rows = [row for row in report.rows if row[0] == chosen]
    with matplotlib.rc_context(_STYLE):
        if report.name == "revenue_waterfall":
            figure = _waterfall(report, rows, chosen)
        else:
            figure = _rollforward(report, rows, chosen)
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        figure.savefig(path, format=fmt, dpi=DPI, metadata=metadata)
    return path


def _formatter(currency: str) -> FuncFormatter:
    # Ticks arrive as floats of minor units; labels are the exact integer, regrouped.
    return FuncFormatter(lambda value, _pos: major_units(int(round(value)), currency))


def _waterfall(report: Report, rows: list[tuple[str | int, ...]], currency: str) -> Figure:
    names = report.column_names
    first_cell = names.index("booked") + 1
    columns = [str(name) for name in names[first_cell:]]
    matrix = [[int(v) for v in row[first_cell:]] for row in rows]
    booked = [int(row[names.index("booked")]) for row in rows]
    width = max(6.0, 1.1 * len(columns) + 3.0)
    figure = Figure(figsize=(width, max(3.5, 0.55 * len(rows) + 2.2)), layout="constrained")
    ax = figure.add_subplot()
    peak = max((abs(v) for line in matrix for v in line), default=0)
    image = ax.imshow(matrix or [[0]], cmap="Blues", aspect="auto", vmin=0, vmax=peak or 1)
    for y, line in enumerate(matrix):
        for x, value in enumerate(line):
            if value:
                # Dark cells get white text: compared as integers, no scaling of amounts.
                color = "white" if 2 * abs(value) > peak else "black"
                ax.text(x, y, major_units(value, currency), ha="center", va="center",
                        color=color, fontsize=8)  # fmt: skip
    ax.set_xticks(range(len(columns)), [_SHOWN.get(c, c) for c in columns])
    labels = [
        f"{row[1]}\nbooked {major_units(b, currency)}" for row, b in zip(rows, booked, strict=True)
    ]
    ax.set_yticks(range(len(rows)), labels)
    # Set the released / not-yet-recognized columns apart from the calendar months.
    ax.axvline(len(columns) - 2.5, color="#444444", linewidth=1.2)
    ax.set_xlabel("recognized month")
    ax.set_ylabel("booked month")
    ax.set_title(f"Revenue waterfall ({currency.upper()}), {report.params.through}")
    figure.colorbar(image, ax=ax, format=_formatter(currency), label=currency.upper())
    return figure


def _rollforward(report: Report, rows: list[tuple[str | int, ...]], currency: str) -> Figure:
    names = report.column_names

    def series(name: str) -> list[int]:
        return [int(row[names.index(name)]) for row in rows]

    months = [str(row[1]) for row in rows]
    x = list(range(len(months)))
    width = 0.28
    figure = Figure(figsize=(max(6.0, 0.9 * len(months) + 2.5), 4.5), layout="constrained")
    ax = figure.add_subplot()
    ax.bar([i - width for i in x], series("additions"), width, label="additions", color="#2a9d8f")
    ax.bar(x, [-v for v in series("recognized")], width, label="recognized (out)", color="#457b9d")
    ax.bar([i + width for i in x], series("other"), width, label="other", color="#e9c46a")
    ax.plot(x, series("ending"), color="#1d3557", marker="o", label="ending balance")
    ax.axhline(0, color="#888888", linewidth=0.8)
    ax.set_xticks(x, months, rotation=45 if len(months) > 8 else 0)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.yaxis.set_major_formatter(_formatter(currency))
    ax.set_ylabel(currency.upper())
    ax.set_title(f"Deferred revenue rollforward ({currency.upper()}), {report.params.through}")
    figure.legend(loc="outside lower center", frameon=False, ncols=4)
    ax.grid(axis="y", alpha=0.3)
    return figure
