"""A symbol picker: type to narrow the listed symbols, then click one, or press Enter on an exact ticker."""

from collections.abc import Callable

from nicegui import ui

from services.market import symbols


class SymbolPicker(ui.select):
    """A select of the listed symbols that calls `on_pick(symbol)` for the one picked (a coroutine is awaited)."""

    def __init__(self, label: str, on_pick: Callable[[str], object]):
        options = {x.symbol: f"{x.symbol} · {x.name}" for x in symbols.listings()}
        super().__init__(options, with_input=True, label=label)
        self.props("dense outlined input-debounce=0 behavior=menu")
        self.on_value_change(lambda e: e.value and on_pick(e.value))
        # Quasar's Enter picks only an option highlighted with the arrow keys; a typed ticker ("nvda") counts too.
        self.on("keydown.enter", lambda e: self._pick_typed(e.args), js_handler="(e) => emit(e.target.value)")

    def reset(self) -> None:
        """Empty the picker, its typed text too (Quasar keeps that when only the value is cleared)."""
        self.set_value(None)
        self.run_method("updateInputValue", "")

    def _pick_typed(self, typed: object) -> None:
        listing = symbols.get(typed) if isinstance(typed, str) else None
        if listing is not None:
            self.set_value(listing.symbol)
