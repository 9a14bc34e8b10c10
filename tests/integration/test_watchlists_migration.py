"""The upgrade to named watchlists: a database filled by the previous schema (revision 0006) keeps every watched
symbol, in its order, as each user's first list, on PostgreSQL and SQLite; a user who had emptied theirs gets an
empty first list, and the singular watchlist goes on serving it."""

import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.infra import db
from services.watchlists import watchlist
from settings import load_settings
from tests.support.databases import fresh_postgres

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.fixture(params=["postgres", "sqlite"])
def old_engine(request, tmp_path):
    with ExitStack() as stack:
        if request.param == "postgres":
            url = stack.enter_context(fresh_postgres("lists"))
        else:
            url = f"sqlite:///{tmp_path / 'old.db'}"
        engine = db.make_engine(load_settings(database_url=url))
        db.migrate(engine, "0006")
        yield engine
        engine.dispose()


def fill_the_old_schema(engine, watched: dict[uuid.UUID, list[str]]) -> None:
    """Users and their single lists as the previous version stored them (symbols added a minute apart, listed
    here in that order, which is not the alphabet's)."""
    sqlite = engine.dialect.name == "sqlite"

    def stamp(t: datetime):
        return t.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else t

    with engine.begin() as connection:
        for user, symbols in watched.items():
            uid = user.hex if sqlite else user
            connection.execute(
                text(
                    "INSERT INTO users (id, email, display_name, password_hash, created_at)"
                    " VALUES (:id, :e, 'Friar', 'x', :t)"
                ),
                {"id": uid, "e": f"{user.hex}@example.com", "t": stamp(T0)},
            )
            for n, symbol in enumerate(symbols):
                connection.execute(
                    text("INSERT INTO watchlist_items (user_id, symbol, created_at) VALUES (:u, :s, :t)"),
                    {"u": uid, "s": symbol, "t": stamp(T0 + timedelta(minutes=n))},
                )


def test_the_upgrade_keeps_every_watched_symbol_as_the_first_list(old_engine):
    tuck, marian, emptied = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    watched = {tuck: ["TSLA", "AAPL", "KO", "DE"], marian: ["SPY"], emptied: []}
    fill_the_old_schema(old_engine, watched)
    db.migrate(old_engine)
    with db.session_scope(old_engine) as session:
        for user, symbols in watched.items():
            (first,) = watchlist.lists(session, user)
            assert (first.name, first.symbols) == ("My First List", symbols)
            assert watchlist.symbols(session, user) == symbols
        # The upgraded lists work as new ones do.
        assert watchlist.add(session, tuck, "cat") == [*watched[tuck], "CAT"]
        second = watchlist.create(session, tuck, name="Second", symbols=["KO"])
        assert [w.name for w in watchlist.lists(session, tuck)] == ["My First List", "Second"]
        assert watchlist.get(session, tuck, second.id).symbols == ["KO"]
        assert watchlist.lists(session, marian)[0].symbols == ["SPY"]
