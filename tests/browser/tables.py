"""The coverage tables the browser tests fill (page × variant marks), printed at the end of a run.

Kept apart from the browser suite's conftest so that the run's own conftest (tests/conftest.py)
can print them and, under pytest-xdist, gather each worker's marks without loading Selenium.
"""

from __future__ import annotations


class Coverage:
    """Tables of page × variant marks, filled by the tests and printed in the terminal summary."""

    def __init__(self) -> None:
        self.tables: dict[str, dict] = {}

    def record(self, table: str, row: str, column: str, mark: str) -> None:
        data = self.tables.setdefault(table, {"rows": [], "columns": [], "cells": {}})
        if row not in data["rows"]:
            data["rows"].append(row)
        if column not in data["columns"]:
            data["columns"].append(column)
        data["cells"][row, column] = mark

    def marks(self) -> list[tuple[str, str, str, str]]:
        """Every mark as (table, row, column, mark), in the order recorded."""
        return [
            (title, row, column, mark)
            for title, data in self.tables.items()
            for (row, column), mark in data["cells"].items()
        ]

    def lines(self) -> list[str]:
        out: list[str] = []
        for title, data in self.tables.items():
            columns = data["columns"]
            first = max(len(row) for row in data["rows"])
            widths = [max(len(column), 4) for column in columns]
            out.append("")
            out.extend(title.split("\n"))
            out.append(
                "  ".join(
                    [" " * first, *(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
                )
            )
            for row in data["rows"]:
                cells = (
                    data["cells"].get((row, c), "-").ljust(w)
                    for c, w in zip(columns, widths, strict=True)
                )
                out.append("  ".join([row.ljust(first), *cells]).rstrip())
            marks = list(data["cells"].values())
            failed = marks.count("FAIL")
            if all(mark.isdigit() for mark in marks):
                out.append(f"  {sum(int(mark) for mark in marks)} stops checked")
            else:
                out.append(f"  {len(marks)} checked" + (f", {failed} FAIL" if failed else ""))
        return out


COVERAGE = Coverage()

COVERAGE = Coverage()
