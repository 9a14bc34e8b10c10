"""Live quote rows of several symbols as one element, kept current by the live flush (components.live)."""

from nicegui import ui

from components import live, sparklines


class QuoteBoard(ui.element, component="quote_board.js"):
    """One update per flush for all of a page's changed symbols, not one per label: 20 symbols at 200 pages."""

    def __init__(self, *, empty: str, mini_charts: bool = False):
        """`mini_charts`: each row shows the day's mini chart (components.sparklines)."""
        super().__init__()
        self.symbols: frozenset[str] = frozenset()
        self.lines: dict[str, str] = {}  # symbol -> the mini chart path the browser shows
        self._shown: tuple[str, ...] = ()
        self._props["rows"] = ()
        self._props["empty"] = empty
        self._mini_charts = mini_charts
        live.follow(self)
        if mini_charts:
            self._props["charts"] = True
            sparklines.follow(self)

    def show(self, symbols: list[str]) -> None:
        """Show these symbols, in this order."""
        self.symbols = frozenset(symbols)
        for symbol in symbols:
            live.view(symbol)  # followed by the flush from now on
        self._shown = tuple(symbols)
        self._props["rows"] = tuple(live.rows[s] for s in symbols)  # a tuple of strings: nothing to observe
        self.update()
        if self._mini_charts:
            sparklines.want(symbols)
            self.lines_changed()

    def refresh(self, changed: set[str]) -> None:
        """Called by the flush with the symbols whose quotes changed; sends nothing if none are shown here."""
        if self.symbols.isdisjoint(changed):
            return
        self._props["rows"] = tuple(live.rows[s] for s in self._shown)
        self.update()

    def lines_changed(self) -> None:
        """Send the shown symbols' mini charts when they changed: by a method call, not a prop, so that the
        flush's updates at every tick do not carry them too."""
        lines = {s: sparklines.paths[s] for s in self._shown if s in sparklines.paths}
        if lines != self.lines:
            self.lines = lines
            self.run_method("showLines", lines)
