"""Live quote rows of several symbols as one element, kept current by the live flush (components.live)."""

from nicegui import ui

from components import live


class QuoteBoard(ui.element, component="quote_board.js"):
    """One update per flush for all of a page's changed symbols, not one per label: 20 symbols at 200 pages."""

    def __init__(self, *, empty: str):
        super().__init__()
        self.symbols: frozenset[str] = frozenset()
        self._shown: tuple[str, ...] = ()
        self._props["rows"] = ()
        self._props["empty"] = empty
        live.follow(self)

    def show(self, symbols: list[str]) -> None:
        """Show these symbols, in this order."""
        self.symbols = frozenset(symbols)
        for symbol in symbols:
            live.view(symbol)  # followed by the flush from now on
        self._shown = tuple(symbols)
        self._props["rows"] = tuple(live.rows[s] for s in symbols)  # a tuple of strings: nothing to observe
        self.update()

    def refresh(self, changed: set[str]) -> None:
        """Called by the flush with the symbols whose quotes changed; sends nothing if none are shown here."""
        if self.symbols.isdisjoint(changed):
            return
        self._props["rows"] = tuple(live.rows[s] for s in self._shown)
        self.update()
