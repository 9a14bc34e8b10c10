"""The alert engine's in-memory book: which alerts a last price reaches."""

import uuid
from decimal import Decimal

from services.alerts.engine import AlertBook, apply_change


def ids(n: int) -> list[uuid.UUID]:
    return sorted(uuid.uuid4() for _ in range(n))


def test_above_fires_at_or_over_its_level_and_below_at_or_under():
    book = AlertBook()
    up_100, up_101, down_99, down_100 = ids(4)
    book.add(up_100, "CAT", "above", Decimal("100.00"))
    book.add(up_101, "CAT", "above", Decimal("101.00"))
    book.add(down_99, "CAT", "below", Decimal("99.00"))
    book.add(down_100, "CAT", "below", Decimal("100.00"))

    assert set(book.crossed("CAT", Decimal("99.50"))) == {down_100}
    assert set(book.crossed("CAT", Decimal("100"))) == {up_100, down_100}
    assert set(book.crossed("CAT", Decimal("101.0001"))) == {up_100, up_101}
    assert set(book.crossed("CAT", Decimal("98"))) == {down_99, down_100}
    assert book.crossed("DE", Decimal("100")) == []


def test_alerts_at_the_same_level_are_all_found_and_removed_one_by_one():
    book = AlertBook()
    first, second = ids(2)
    for alert_id in (second, first, first):  # adding one twice keeps one entry
        book.add(alert_id, "CAT", "above", Decimal("50"))
    assert len(book) == 2 and sorted(book.crossed("CAT", Decimal("50"))) == [first, second]
    book.remove(second)
    book.remove(second)  # removing one that is gone is fine
    assert book.crossed("CAT", Decimal("60")) == [first] and second not in book
    book.remove(first)
    assert len(book) == 0 and book.symbols() == []


def test_change_events_file_and_unfile_alerts():
    book = AlertBook()
    alert_id = uuid.uuid4()
    data = {"id": str(alert_id), "symbol": "CAT", "condition": "below", "price": "0.5000", "status": "active"}
    assert apply_change(book, {"type": "alert_changed", "data": data, "deleted": False}) == "CAT"
    assert book.crossed("CAT", Decimal("0.4999")) == [alert_id] and book.symbols() == ["CAT"]
    apply_change(book, {"type": "alert_changed", "data": data, "deleted": True})
    assert alert_id not in book
    apply_change(book, {"type": "alert_changed", "data": {**data, "status": "triggered"}})
    assert alert_id not in book
