"""How numbers read on the page."""

from decimal import Decimal


def money(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    amount = Decimal(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def signed_money(value: Decimal | str) -> str:
    amount = Decimal(value)
    return f"{'+' if amount >= 0 else '-'}${abs(amount):,.2f}"


def percent(value: Decimal | str) -> str:
    amount = Decimal(value).quantize(Decimal("0.01")) + 0  # + 0 turns -0.00 into 0.00
    return f"{'+' if amount > 0 else ''}{amount}%"  # no sign on a change too small to show


def direction(value: Decimal | str) -> str:
    """The class that colours a change: green up, red down."""
    amount = Decimal(value)
    return "sw-up" if amount > 0 else "sw-down" if amount < 0 else "text-gray-500"


def decimal_text(value: Decimal) -> str:
    """Shares as people write them: 10, 0.5, 1.333333."""
    return format(Decimal(value).normalize(), "f")


def shares(quantity: Decimal) -> str:
    """A number of shares in words: 1 share, 2 shares, 0.5 shares."""
    return f"{decimal_text(quantity)} {'share' if Decimal(quantity) == 1 else 'shares'}"


COMPACT = ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K"))


def compact(value: Decimal | int | None) -> str:
    """A large number as statistics show it: 4.01T, 52.37M, 980."""
    if value is None:
        return "—"
    amount = Decimal(value)
    for size, suffix in COMPACT:
        if abs(amount) >= size:
            return f"{amount / size:.2f}{suffix}"
    return f"{amount:,.0f}"
