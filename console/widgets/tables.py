"""A DataTable with the operator keys (``j``/``k`` to move, ``g``/``G`` for top and bottom) and
columns that share out the width the terminal gives beyond their own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import events
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
        self._widths: dict[str, int] = {}
        self._flex: dict[str, int] = {}
        self._wants: dict[str, int] = {}
        self._refit_pending = False

    def add_fitted_columns(self, widths: Mapping[str, int], flex: Mapping[str, int]) -> None:
        """Add columns (name -> least width); the ``flex`` ones (name -> weight) share out what is
        left of the table's width, each up to what its text needs first, so long text (a reason,
        arguments) uses a wide terminal instead of being cut beside empty space."""
        for name, width in widths.items():
            self.add_column(name, width=width, key=name)
        self._widths = dict(widths)
        self._flex = {k: v for k, v in flex.items() if k in widths}
        self._wants = dict.fromkeys(self._flex, 0)
        self._fit()

    def add_row(self, *cells: object, height: int | None = 1, key: str | None = None, label: Any = None) -> Any:
        for name, cell in zip(self._widths, cells, strict=False):
            self._note(name, cell)
        return super().add_row(*cells, height=height, key=key, label=label)

    def update_cell(self, row_key: Any, column_key: Any, value: object, *, update_width: bool = False) -> None:
        self._note(str(getattr(column_key, "value", column_key)), value)
        super().update_cell(row_key, column_key, value, update_width=update_width)

    def _note(self, name: str, cell: object) -> None:
        """Remember how wide a flex column's text is (the widest seen), and refit when it grows."""
        if name not in self._flex:
            return
        width = getattr(cell, "cell_len", None)  # Text, and cells that fit themselves (Fitted)
        width = width if isinstance(width, int) else len(str(cell))
        if width > self._wants[name]:
            self._wants[name] = width
            if not self._refit_pending:
                self._refit_pending = True
                self.call_after_refresh(self._fit)

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        self._refit_pending = False
        if not self._flex or not self.size.width:
            return
        padding = 2 * self.cell_padding * len(self._widths)
        spare = self.size.width - sum(self._widths.values()) - padding - self.styles.scrollbar_size_vertical
        spare = max(0, spare)
        needs = {k: max(0, self._wants[k] - self._widths[k]) for k in self._flex}
        if sum(needs.values()) > spare:
            # Not enough for all: the columns that lack least are made whole first, then the
            # rest share what is left evenly (a short reason shows whole beside long arguments).
            shares, left = {}, spare
            ordered = sorted(needs, key=needs.__getitem__)
            for i, k in enumerate(ordered):
                shares[k] = min(needs[k], left // (len(ordered) - i))
                left -= shares[k]
        else:  # each gets what it needs, and the rest goes by weight
            left, total = spare - sum(needs.values()), sum(self._flex.values())
            shares = {k: needs[k] + left * w // total for k, w in self._flex.items()}
        changed = False
        for name, least in self._widths.items():
            column = self.columns.get(name)  # type: ignore[call-overload]  # a ColumnKey equals its name
            width = least + shares.get(name, 0)
            if column is not None and column.width != width:
                column.width, changed = width, True
        if changed:  # the pinned Textual's DataTable recomputes its layout on these two
            self._clear_caches()
            self._require_update_dimensions = True
            self.refresh()

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
