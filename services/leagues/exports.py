"""The owner's CSV exports, for grading: the standings (with emails), and every fill of the league's accounts."""

import csv
import io
import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, select

from models.league import League, LeagueMember
from models.market import Quote
from models.order import Order, plain, price_text
from models.user import User
from services.leagues import standings

STANDINGS_HEADER = ["rank", "displayName", "email", "equity", "returnPercent", "dayChangePercent", "trades"]
TRADES_HEADER = ["email", "displayName", "time", "symbol", "side", "quantity", "price"]


def _csv(header: list[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _neutral(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (a display name is the user's to choose)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def standings_csv(db: Session, league: League, quotes: Mapping[str, Quote], now: datetime) -> str:
    """The final standings once the league is settled, else the standings now."""
    emails = dict(
        db.exec(
            select(LeagueMember.user_id, User.email)
            .join(User, User.id == LeagueMember.user_id)
            .where(LeagueMember.league_id == league.id)
        ).all()
    )
    if league.final_standings is not None:
        lines = league.final_standings
    else:
        lines = standings.frozen(standings.compute(db, league, quotes, now, {}))
    return _csv(
        STANDINGS_HEADER,
        (
            [
                line["rank"],
                _neutral(line["displayName"]),
                emails.get(uuid.UUID(line["userId"]), ""),
                line["equity"],
                line["returnPercent"],
                line["dayChangePercent"],
                line["trades"],
            ]
            for line in lines
        ),
    )


def trades_csv(db: Session, league: League) -> str:
    """Every fill in the league's accounts, oldest first, whoever made it (members who left or were removed too)."""
    query = (
        select(LeagueMember, User.email, User.display_name, Order)
        .join(User, User.id == LeagueMember.user_id)
        .join(Order, Order.account_id == LeagueMember.account_id)
        .where(LeagueMember.league_id == league.id, Order.filled_at.is_not(None))
        .order_by(Order.filled_at, Order.id)
    )
    rows = (
        [
            email,
            _neutral(standings.display_name(name, email, member.number)),
            order.filled_at.isoformat(),
            order.symbol,
            order.side,
            plain(order.filled_quantity),
            price_text(order.avg_fill_price),
        ]
        for member, email, name, order in db.exec(query)
    )
    return _csv(TRADES_HEADER, rows)
