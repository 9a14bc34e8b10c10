"""The league pages: a teacher creates a league from the Leagues page, a student joins by the invite link and
trades the league account the switcher now holds, both see the leaderboard; the owner sees the members."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.league import LeagueCreate, LeagueRules
from models.types import utcnow
from models.user import User
from services.leagues import leagues
from services.runtime import call
from tests.ui.conftest import by_testid, click, eventually, fill, publish, shown


async def test_create_a_league_from_the_leagues_page(user, sign_in):
    await sign_in("Teacher")
    await user.open("/leagues")
    await user.should_see("You are in no league yet")
    await click(user, "create-league")
    await eventually(lambda: shown(user, "create-league-dialog"), "the create dialog")
    fill(user, "league-name", "Period 3")
    fill(user, "league-cash", "25000")
    await click(user, "dialog-confirm")
    await eventually(lambda: shown(user, "league-title"), "the league's page", timeout=10)
    await user.should_see("Period 3")
    assert shown(user, "owner-panel") and shown(user, "invite-link")
    await eventually(lambda: shown(user, "leaderboard-empty"), "the empty leaderboard")
    await user.should_see("No members yet.")


async def test_the_invite_link_joins_and_the_leaderboard_shows_the_player(user, sign_in, started):
    await sign_in("Will Scarlet")
    (me,) = [u for u in await call(_users)]
    owner_league = await call(
        leagues.create,
        owner_id=me,
        wanted=LeagueCreate(name="Sherwood Cup", starts_at=datetime.now(UTC), ends_at=utcnow() + timedelta(days=3)),
        default_cash=started.settings.starting_cash,
        now=utcnow(),
    )
    await user.open(f"/join/{owner_league.invite_code}")
    await user.should_see("Join Sherwood Cup")
    await click(user, "join-league")
    await eventually(lambda: shown(user, "league-title"), "the league's page after joining", timeout=10)
    await eventually(lambda: shown(user, "standings"), "the standings")
    await user.should_see("Will Scarlet")
    (rank,) = by_testid(user, "my-rank").elements
    await eventually(lambda: rank.text == "Your rank: 1 of 1", "my rank")
    (race,) = by_testid(user, "league-race").elements
    await eventually(lambda: [s["name"] for s in race.options["series"]] == ["Will Scarlet"], "the race chart")
    (header,) = by_testid(user, "account-name").elements
    assert header.text == "Sherwood Cup"  # the browser now trades the league account
    await user.open("/join/NOSUCHCODE")
    await user.should_see("This invite link does not name a league.")


def _users(db):
    return list(db.exec(select(User.id)))


async def test_the_order_form_says_what_the_league_forbids_before_sending(user, sign_in, started):
    await publish(started, "MSFT", "400.00")
    await publish(started, "AAPL", "100.00")
    await sign_in("Little John")
    (me,) = [u for u in await call(_users)]
    league = await call(
        leagues.create,
        owner_id=me,
        wanted=LeagueCreate(
            name="Tech Only",
            starts_at=datetime.now(UTC),
            ends_at=utcnow() + timedelta(days=3),
            symbols=["AAPL"],
            rules=LeagueRules(allow_fractional=False),
        ),
        default_cash=started.settings.starting_cash,
        now=utcnow(),
    )
    await user.open(f"/join/{league.invite_code}")
    await click(user, "join-league")
    await eventually(lambda: shown(user, "league-title"), "the league's page after joining", timeout=10)

    await user.open("/stock/MSFT")
    await user.should_see("Review order")
    fill(user, "amount", "1")
    await click(user, "review")
    await eventually(lambda: error_text(user) == "MSFT is not traded in this league.", "the symbol refused")
    assert not shown(user, "review-dialog")

    await user.open("/stock/AAPL")
    await user.should_see("Review order")
    fill(user, "amount", "0.5")
    await click(user, "review")
    (amount,) = by_testid(user, "amount").elements
    await eventually(lambda: amount.error == "This league trades whole shares only.", "the fraction refused")
    fill(user, "amount", "2")
    await click(user, "review")
    await eventually(lambda: shown(user, "review-dialog"), "the review of a whole-share order")


def error_text(user) -> str:
    (element,) = by_testid(user, "order-error").elements
    return element.text
