"""A DataTable with the operator keys: ``j``/``k`` to move, ``g``/``G`` for top and bottom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

__all__ = ["KeyTable"]


def _same(a: object, b: object) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):  # Text's == ignores the base style
        return a == b and a.style == b.style
    return a == b


class KeyTable(DataTable[object]):
    """A row-cursor table that also moves with vim keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._synced: dict[str, Sequence[object]] = {}

    def cursor_key(self) -> str | None:
        """The highlighted row's key."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def sync(self, rows: Sequence[tuple[str, Sequence[object]]]) -> None:
        """Show exactly ``rows`` (key, cells), in this order: cells change in place while the keys
        stay the same; otherwise the rows are rebuilt and the cursor stays on its key (or its row)."""
        held, held_row = self.cursor_key(), self.cursor_row
        keys = [key for key, _ in rows]
        columns = list(self.columns)
        if keys == list(self._synced):
            for key, cells in rows:
                for column, before, after in zip(columns, self._synced[key], cells, strict=True):
                    if not _same(before, after):
                        self.update_cell(key, column, after)
        else:
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            if held in keys:
                self.move_cursor(row=keys.index(held))
            elif keys:
                self.move_cursor(row=min(held_row, len(keys) - 1))
        self._synced = {key: tuple(cells) for key, cells in rows}
