"""A league's trading rules, pure: given the league, the order and what the account holds, refuse what the league
does not allow. No I/O here: services.leagues.placement reads the rows under the account's lock and asks these."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from models.account import Position
from models.league import League
from models.market import Quote
from models.order import OrderCreate, Side
from services.infra.errors import DomainError

CENT = Decimal("0.01")


def _market_value(position: Position, quote: Quote | None) -> Decimal:
    """A position at its last price; without a quote yet, at cost (as the portfolio carries it)."""
    if quote is None:
        return position.cost_basis
    return (position.quantity * quote.last).quantize(CENT, rounding=ROUND_HALF_UP)


def equity(cash: Decimal, positions: list[Position], quotes: Mapping[str, Quote]) -> Decimal:
    return cash + sum((_market_value(p, quotes.get(p.symbol)) for p in positions), Decimal("0.00"))


def order_price(wanted: OrderCreate, quote: Quote | None) -> Decimal | None:
    """What a buy is valued at: its limit, else its stop, else the ask; None with neither a price nor a quote."""
    price = wanted.limit_price or wanted.stop_price
    if price is None and quote is not None:
        price = quote.ask
    return price


def not_running() -> DomainError:
    return DomainError("LEAGUE_NOT_RUNNING", "This league account trades only while its league runs.")


def refuse_unless_running(league: League, now: datetime) -> None:
    if not league.starts_at <= now < league.ends_at:
        raise not_running()


def refuse_unless_allowed(league: League, wanted: OrderCreate, quote: Quote | None) -> None:
    """The symbol, the order type, fractional shares, and the minimum share price of a buy."""
    if league.symbols is not None and wanted.symbol not in league.symbols:
        raise DomainError("SYMBOL_NOT_ALLOWED", f"{wanted.symbol} is not traded in this league.")
    if league.order_types is not None and wanted.order_type not in league.order_types:
        raise DomainError(
            "ORDER_TYPE_NOT_ALLOWED",
            f"{wanted.order_type.replace('_', ' ').capitalize()} orders are not allowed in this league.",
            league.order_types,
        )
    if not league.allow_fractional:
        if getattr(wanted, "notional", None) is not None:
            raise DomainError(
                "VALIDATION_ERROR",
                "This league trades whole shares only.",
                [{"field": "notional", "message": "dollar amounts are not allowed in this league"}],
            )
        if wanted.quantity is not None and wanted.quantity != wanted.quantity.to_integral_value():
            raise DomainError(
                "VALIDATION_ERROR",
                "This league trades whole shares only.",
                [{"field": "quantity", "message": "must be a whole number of shares in this league"}],
            )
    if wanted.side == Side.BUY and league.min_price is not None:
        price = quote.last if quote is not None else order_price(wanted, None)
        if price is not None and price < league.min_price:
            raise DomainError(
                "SYMBOL_NOT_ALLOWED", f"This league buys only shares priced at ${league.min_price} or more."
            )


def refuse_past_position_limit(
    league: League,
    wanted: OrderCreate,
    *,
    quote: Quote | None,
    account_equity: Decimal,
    position: Position | None,
    resting_buys: Decimal,
) -> None:
    """A buy may not take the symbol's position, with the symbol's resting buys (what they reserve) and this order
    (at its price), above `maxPositionPercent` of the account's equity."""
    if wanted.side != Side.BUY or league.max_position_percent is None:
        return
    price = order_price(wanted, quote)
    notional = getattr(wanted, "notional", None)
    if notional is not None:
        this_order = notional
    elif price is not None:
        this_order = wanted.quantity * price
    else:
        return  # nothing to value it at: the placement refuses it anyway (NO_QUOTE)
    held = _market_value(position, quote) if position is not None and position.quantity > 0 else Decimal(0)
    cap = account_equity * league.max_position_percent / 100
    if held + resting_buys + this_order > cap:
        raise DomainError(
            "POSITION_LIMIT",
            f"A position may be at most {league.max_position_percent}% of the account's equity in this league "
            f"(${cap.quantize(CENT)}).",
        )


@dataclass(frozen=True)
class Limits:
    """What a league account's next order in one symbol is judged against: the league, the account's equity, its
    position in the symbol and what its resting buys of the symbol reserve. The server judges under the account's
    lock; the order form judges the same way before sending."""

    league: League
    equity: Decimal
    position: Position | None
    resting_buys: Decimal

    def refuse(self, wanted: OrderCreate, quote: Quote | None, now: datetime) -> None:
        """Raise the league's refusal of this order, if it has one."""
        refuse_unless_running(self.league, now)
        refuse_unless_allowed(self.league, wanted, quote)
        refuse_past_position_limit(
            self.league,
            wanted,
            quote=quote,
            account_equity=self.equity,
            position=self.position,
            resting_buys=self.resting_buys,
        )
