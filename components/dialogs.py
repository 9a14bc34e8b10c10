"""Dialogs of the pages: each made in its card, gone once closed, with Cancel and one action."""

from nicegui import ui


def dialog(container: ui.element, title: str, testid: str, text: str = "") -> tuple[ui.dialog, ui.card]:
    # In the card, not in the row whose menu or button opened it: refreshing a list deletes its rows.
    with container, ui.dialog() as shown, ui.card().classes("sw-card p-6 gap-3 w-full max-w-sm") as card:
        card.props(f'data-testid="{testid}"')
        ui.label(title).classes("text-xl font-semibold")
        if text:
            ui.label(text).classes("text-gray-600")
    shown.on_value_change(lambda event: event.value or shown.delete())  # closed dialogs leave nothing behind
    return shown, card


def buttons(shown: ui.dialog, label: str, on_confirm, *, colour: str = "primary", dismiss: str = "Cancel") -> ui.button:
    with ui.row().classes("w-full justify-end gap-2 mt-2"):
        ui.button(dismiss, on_click=shown.close).props('flat no-caps data-testid="dialog-cancel"')
        confirm = ui.button(label, on_click=on_confirm)
        confirm.props(f'unelevated no-caps color={colour} data-testid="dialog-confirm"')
    return confirm


def confirm(
    container: ui.element, title: str, testid: str, text: str, label: str, action, *, dismiss: str = "Cancel"
) -> None:
    """Ask before an action that cannot be undone; the dialog closes once the action is done."""
    shown, card = dialog(container, title, testid, text)

    async def confirmed() -> None:
        button.props("loading")
        await action()
        shown.close()

    with card:
        button = buttons(shown, label, confirmed, colour="negative", dismiss=dismiss)
    shown.open()
