"""The portfolio's headline: its live value and change, which the chart scrubs in the browser (headline.js)."""

from nicegui import ui


class Headline(ui.element, component="headline.js"):
    """`source` names the chart that scrubs it (its test id)."""

    def __init__(self, title: str, *, source: str):
        super().__init__()
        self._props.update(title=title, value="—", change="", changeClass="", source=source)

    def show(self, value: str, change: str, change_class: str) -> None:
        """The live figures; sends nothing when they are what the browser shows already."""
        shown = {"value": value, "change": change, "changeClass": change_class}
        if any(self._props[key] != text for key, text in shown.items()):
            self._props.update(shown)
            self.update()
