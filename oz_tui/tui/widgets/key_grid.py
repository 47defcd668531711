"""`KeyGrid`: the rows of `KeyTable`, drawn with Textual's line API.

Only the lines on screen are rendered: `render_line(y)` builds the row at `y` (plus scroll) from
a cell callback, so holding 10,000 keys costs a list of keys, not 70,000 Rich renderables, and a
filter or sort re-renders one screenful. It looks and behaves like the stock `DataTable` it
replaces (row cursor, zebra stripes, header): the component classes, CSS and the way a cell is
styled are DataTable's, and a cell is rendered the way DataTable renders one.

Private to `KeyTable`: it knows nothing about keys, only columns, row ids and a callback that
returns a row's cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip

#: Returns the cells of the row at an index (one Text per column).
RowCells = Callable[[int], Sequence[Text]]


@dataclass
class GridColumn:
    """A column: its key, header label and content width (cells, without padding); `padding`
    overrides the grid's cell padding (e.g. 0 for a one-character marks column)."""

    key: str
    label: Text
    content_width: int = field(default=0)
    padding: int | None = None

    def get_padding(self, grid: KeyGrid) -> int:
        return grid.cell_padding if self.padding is None else self.padding

    def get_render_width(self, grid: KeyGrid) -> int:
        """Width with padding, as drawn (DataTable's `Column.get_render_width`)."""
        return self.content_width + 2 * self.get_padding(grid)


class KeyGrid(ScrollView, can_focus=True):
    """A read-only table with a row cursor that renders only the rows on screen."""

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        # The arrows, and j / k / g / G as in lazygit, k9s and less.
        Binding("up,k", "cursor_up", "Cursor up", show=False),
        Binding("down,j", "cursor_down", "Cursor down", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home,g", "first_row", "First row", show=False),
        Binding("end,ctrl+end,G", "last_row", "Last row", show=False),
    ]

    # DataTable's component classes and CSS, so the grid looks the same and themes style it
    # the same way.
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "datatable--cursor",
        "datatable--hover",
        "datatable--header",
        "datatable--header-cursor",
        "datatable--header-hover",
        "datatable--odd-row",
        "datatable--even-row",
    }

    DEFAULT_CSS = """
    KeyGrid {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;

        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark {
            & > .datatable--even-row {
                background: $surface-darken-1 40%;
            }
        }
        & > .datatable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .datatable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .datatable--odd-row {
        }
        & > .datatable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .datatable--header-cursor {
            background: $accent-darken-1;
            color: $foreground;
        }
        & > .datatable--header-hover {
            background: $accent 30%;
        }
        & > .datatable--hover {
            background: $block-hover-background;
        }
    }
    """

    class HeaderClicked(Message):
        """A column header was clicked."""

        def __init__(self, column_key: str) -> None:
            super().__init__()
            self.column_key = column_key

    class RowSelected(Message):
        """Enter on the cursor row."""

        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

    class CellClicked(Message):
        """A data cell was clicked (after the cursor moved to its row)."""

        def __init__(self, row: int, column_key: str) -> None:
            super().__init__()
            self.row = row
            self.column_key = column_key

    def __init__(
        self,
        *,
        cell_padding: int = 1,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.cell_padding = cell_padding
        self._columns: list[GridColumn] = []
        self._row_count = 0
        self._row_ids: Sequence[str] = ()
        self._row_cells: RowCells = lambda _index: ()
        self._cursor_row = 0
        self._hover_row = 0
        self._show_hover = False
        #: Bumped whenever the rows or columns change: it keys the line cache.
        self._generation = 0
        self._line_cache: LRUCache[tuple[Any, ...], Strip] = LRUCache(1024)
        self._cell_cache: LRUCache[tuple[Any, ...], list[Segment]] = LRUCache(4096)
        self._pseudo_state: Any = None
        self._pass_styles: _PassStyles | None = None

    # -- data -------------------------------------------------------------------------------

    @property
    def ordered_columns(self) -> list[GridColumn]:
        return list(self._columns)

    @property
    def row_count(self) -> int:
        return self._row_count

    @property
    def cursor_row(self) -> int:
        return self._cursor_row

    def set_rows(
        self, columns: Sequence[GridColumn], row_ids: Sequence[str], row_cells: RowCells
    ) -> None:
        """Show `row_ids` (one per row, in order) under `columns`. `row_cells(i)` is called
        only for rows on screen, when they are drawn."""
        self._columns = list(columns)
        self._row_ids = row_ids
        self._row_count = len(row_ids)
        self._row_cells = row_cells
        self._invalidate()
        self._cursor_row = self._clamp(self._cursor_row)
        width = sum(column.get_render_width(self) for column in self._columns)
        self.virtual_size = Size(width, self._row_count + 1)

    def redraw(self) -> None:
        """Draw the rows again (their cells changed, not the rows or columns)."""
        self._invalidate()

    def _invalidate(self) -> None:
        self._generation += 1
        self._line_cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()
        self._cell_cache.clear()
        self.refresh()

    # -- the cursor -------------------------------------------------------------------------

    def _clamp(self, row: int) -> int:
        return max(0, min(row, self._row_count - 1))

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Put the cursor on `row` (clamped) and, unless `scroll` is False, bring it into
        view."""
        row = self._clamp(row)
        old = self._cursor_row
        self._cursor_row = row
        if old != row:
            self._refresh_row(old)
            self._refresh_row(row)
        if scroll:
            self.scroll_cursor_into_view()

    def scroll_cursor_into_view(self, animate: bool = False) -> None:
        if not self._row_count:
            return
        region = Region(int(self.scroll_x), self._cursor_row + 1, max(self.size.width, 1), 1)
        self.scroll_to_region(
            region, animate=animate, spacing=Spacing(1, 0, 0, 0), force=True, immediate=True
        )

    def _refresh_row(self, row: int) -> None:
        """Redraw one row (-1: the header, which does not scroll)."""
        if row == -1:
            self.refresh(Region(0, 0, max(self.virtual_size.width, self.size.width), 1))
        elif 0 <= row < self._row_count:
            self.refresh_line(row + 1)

    def _set_hover(self, active: bool, row: int | None = None) -> None:
        old_row, old_active = self._hover_row, self._show_hover
        if row is not None:
            self._hover_row = row
        self._show_hover = active
        if (old_row, old_active) != (self._hover_row, self._show_hover):
            for changed in {old_row, self._hover_row}:
                self._refresh_row(changed)

    # -- actions ----------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self._set_hover(False)
        self.move_cursor(self._cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._set_hover(False)
        self.move_cursor(self._cursor_row + 1)

    def _page_height(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def action_page_down(self) -> None:
        # As DataTable: scroll a page, then the cursor a page down.
        self._set_hover(False)
        height = self._page_height()
        self.scroll_relative(y=height, animate=False, force=True, immediate=True)
        self.move_cursor(self._cursor_row + height)

    def action_page_up(self) -> None:
        self._set_hover(False)
        height = self._page_height()
        self.scroll_relative(y=-height, animate=False, force=True, immediate=True)
        self.move_cursor(self._cursor_row - height)

    def action_first_row(self) -> None:
        self._set_hover(False)
        self.move_cursor(0)

    def action_last_row(self) -> None:
        self._set_hover(False)
        self.move_cursor(self._row_count - 1)

    def action_select_cursor(self) -> None:
        self._set_hover(False)
        if self._row_count:
            self.post_message(self.RowSelected(self._cursor_row))

    # -- mouse ------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        self._set_hover(True)
        meta = event.style.meta
        row, column = meta.get("row"), meta.get("column")
        if not isinstance(row, int) or not isinstance(column, int):
            return
        event.stop()
        if row == -1:
            if 0 <= column < len(self._columns):
                self.post_message(self.HeaderClicked(self._columns[column].key))
            return
        if not 0 <= row < self._row_count:
            return
        self.move_cursor(row)
        if not meta.get("out_of_bounds", False) and 0 <= column < len(self._columns):
            self.post_message(self.CellClicked(row, self._columns[column].key))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        meta = event.style.meta
        row = meta.get("row") if meta else None
        if isinstance(row, int):
            self._set_hover(True, row)
        else:
            self._set_hover(False)

    def on_leave(self, _event: events.Leave) -> None:
        self._set_hover(False)

    # -- rendering --------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # Styles are fixed for the length of one pass: work them out once, not per line.
        self._pseudo_state = self.get_pseudo_class_state()
        self._pass_styles = _PassStyles(self)
        try:
            return super().render_lines(crop)
        finally:
            self._pass_styles = None

    def render_line(self, y: int) -> Strip:
        styles = self._pass_styles or _PassStyles(self)
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        base_style = styles.base
        if y == 0:
            row = -1  # the header stays put
        else:
            row = y - 1 + scroll_y
            if row >= self._row_count:
                return Strip.blank(width, base_style)
        row_id = "" if row == -1 else self._row_ids[row]
        cursor = row == self._cursor_row
        hover = self._show_hover and row == self._hover_row
        cache_key = (
            self._generation,
            row,
            row_id,
            cursor,
            hover,
            scroll_x,
            width,
            base_style,
            self._pseudo_state,
        )
        strip = self._line_cache.get(cache_key)
        if strip is None:
            segments = self._render_row(styles, row, cursor, hover, width)
            strip = (
                Strip(segments)
                .crop(scroll_x, scroll_x + width)
                .adjust_cell_length(width, base_style)
                .simplify()
            )
            self._line_cache[cache_key] = strip
        return strip

    def _render_row(
        self, styles: _PassStyles, row: int, cursor: bool, hover: bool, width: int
    ) -> list[Segment]:
        """One line, as DataTable draws a row: each cell padded and styled (row style, then
        the cell's own, then the cursor's foreground), then the rest of the line to the edge."""
        header = row == -1
        row_style = styles.row(row)
        component, post_style = styles.cell(header, hover, cursor)
        pre_style = row_style + component
        cells: Sequence[Text] = (
            [column.label for column in self._columns] if header else self._row_cells(row)
        )
        segments: list[Segment] = []
        extend = segments.extend
        render_cell = self._render_cell
        for index, column in enumerate(self._columns):
            cell = cells[index] if index < len(cells) else _EMPTY
            # Where the row and column are, for the mouse (DataTable's meta), added last: the
            # rendering is shared by every row whose cell reads and looks the same.
            meta = Style.from_meta({"row": row, "column": index})
            extend(
                Segment(text, style + meta if style else meta)
                for text, style, _control in render_cell(
                    cell,
                    column.get_render_width(self),
                    pre_style,
                    post_style,
                    column.get_padding(self),
                )
            )
        table_width = sum(column.get_render_width(self) for column in self._columns)
        remaining = max(0, width - table_width)
        extend_style = pre_style + Style.from_meta(
            {"row": row, "column": 0, "out_of_bounds": True}
        )
        segments.append(Segment(" " * remaining, extend_style))
        return segments

    def _render_cell(
        self, cell: Text, width: int, pre_style: Style, post_style: Style, padding: int
    ) -> list[Segment]:
        """A cell's line, rendered the way DataTable renders one, and remembered: relative
        times, scopes, dates and the Delete label repeat from row to row."""
        key = (
            cell.plain,
            cell.style,
            tuple(cell.spans),
            cell.no_wrap,
            cell.overflow,
            cell.justify,
            width,
            pre_style,
            post_style,
            padding,
        )
        segments = self._cell_cache.get(key)
        if segments is None:
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            lines = self.app.console.render_lines(
                Styled(
                    Padding(cell, (0, padding)),
                    pre_style=pre_style,
                    post_style=post_style,
                ),
                options,
            )
            segments = lines[0]
            self._cell_cache[key] = segments
        return segments


_EMPTY = Text()


class _PassStyles:
    """The grid's styles during one render pass (DataTable's, for a row cursor)."""

    def __init__(self, grid: KeyGrid) -> None:
        self.grid = grid
        self.base = grid.rich_style
        self._rows: dict[str, Style] = {}
        self._cells: dict[tuple[bool, bool, bool], tuple[Style, Style]] = {}

    def row(self, row: int) -> Style:
        if row == -1:
            name = "datatable--header"
        else:
            name = "datatable--odd-row" if row % 2 else "datatable--even-row"
        style = self._rows.get(name)
        if style is None:
            style = self._rows[name] = self.grid.get_component_styles(name).rich_style
        return style

    def cell(self, header: bool, hover: bool, cursor: bool) -> tuple[Style, Style]:
        """DataTable's `_get_styles_to_render_cell`: the component style, and the post style
        (foreground from CSS, background from the cell)."""
        key = (header, hover, cursor)
        styles = self._cells.get(key)
        if styles is None:
            get_component = self.grid.get_component_rich_style
            component = Style()
            if hover:
                component += get_component("datatable--hover")
                if header:
                    component += get_component("datatable--header-hover")
            if cursor:
                component += get_component("datatable--cursor")
                if header:
                    component += get_component("datatable--header-cursor")
            styles = self._cells[key] = (component, Style.from_color(color=component.color))
        return styles


__all__ = ["GridColumn", "KeyGrid", "RowCells"]
