"""The account page's API keys: a key needs a name, and the 21st is refused in plain words, in the dialog."""

from sqlmodel import select

from models.account import Account
from models.types import utcnow
from models.user import User
from services.infra import db
from services.trading import api_keys
from tests.ui.conftest import by_testid, click, eventually, fill


def error_under(user, testid: str) -> str | None:
    (field,) = by_testid(user, testid).elements
    return field.error


def make_keys(started, email: str, count: int) -> None:
    with db.session_scope(started.engine) as session:
        account = session.exec(select(Account).join(User, User.id == Account.user_id).where(User.email == email)).one()
        for number in range(count):
            api_keys.create(session, user_id=account.user_id, account_id=account.id, name=f"Bot {number}", now=utcnow())


async def test_a_key_needs_a_name_and_the_limit_is_said(user, sign_in, started):
    email = await sign_in()
    await user.open("/account")
    await user.should_see("No API keys yet. Create one to let a bot trade an account.", retries=50)

    await click(user, "create-key")
    await click(user, "dialog-confirm")
    assert error_under(user, "key-name-input") == "Give the key a name."
    fill(user, "key-name-input", "Bot\x07")
    await click(user, "dialog-confirm")
    assert error_under(user, "key-name-input") == "Use letters, digits and punctuation only."

    make_keys(started, email, api_keys.KEY_LIMIT)  # as if made in another tab
    fill(user, "key-name-input", "One too many")
    await click(user, "dialog-confirm")
    refusal = await eventually(lambda: error_under(user, "key-name-input"), "the refusal")
    assert refusal == "You can hold at most 20 API keys; delete one first."
    by_testid(user, "create-key-dialog")  # still open, so the user can read it and cancel
