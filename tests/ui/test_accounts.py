"""The account page's accounts: a name is checked before anything opens, the limit is said in plain words, a
rename reaches the header, and the header's menu lists the accounts when opened."""

from nicegui import ui
from nicegui.testing.user_interaction import UserInteraction

from tests.ui.conftest import by_testid, click, eventually, fill, shown


def error_under(user, testid: str) -> str | None:
    (field,) = by_testid(user, testid).elements
    return field.error


def header_name(user) -> str:
    (label,) = by_testid(user, "account-name").elements
    return label.text


async def test_open_accounts_up_to_the_limit_and_rename_one(user, sign_in):
    await sign_in()
    await user.open("/account")
    await eventually(lambda: shown(user, "account-Individual"), "the default account listed")
    assert header_name(user) == "Individual"

    await click(user, "open-account")
    assert error_under(user, "new-account-name") == "Give the account a name."
    for name in ("Swing", "Income", "Play", "Long term"):  # with the default, the five personal ones allowed
        fill(user, "new-account-name", name)
        await click(user, "open-account")
        await eventually(lambda name=name: shown(user, f"account-{name}"), f"{name} listed")
        await user.should_see(f"Opened {name} with $100,000.00")
    fill(user, "new-account-name", "One too many")
    await click(user, "open-account")
    await eventually(lambda: error_under(user, "new-account-name"), "the refusal")
    assert error_under(user, "new-account-name") == (
        "You can hold at most 5 personal accounts. Close one to open another."
    )
    assert not shown(user, "account-One too many")

    (menu,) = by_testid(user, "account-menu-list").elements
    with user:
        menu.open()  # as a click on the switcher: the accounts are read now
    await eventually(lambda: shown(user, "account-option-Long term"), "the switcher lists every account")

    await rename(user, "Individual", "Main")
    await eventually(lambda: shown(user, "account-Main"), "the renamed account listed")
    await user.should_see("Renamed Individual to Main")
    assert header_name(user) == "Main"  # the page's own account: the header follows at once


async def rename(user, old: str, new: str) -> None:
    """Rename through the row's actions menu and its dialog, as a click on each would."""
    (actions,) = by_testid(user, f"account-actions-{old}").elements
    with user:
        (item,) = [
            e
            for e in actions.descendants()
            if isinstance(e, ui.menu_item) and any(getattr(d, "text", None) == "Rename" for d in e.descendants())
        ]
    UserInteraction(user, {item}, "Rename").click()
    await eventually(lambda: shown(user, "rename-name"), "the rename dialog")
    fill(user, "rename-name", new)
    await click(user, "dialog-confirm")
