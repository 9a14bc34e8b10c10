"""The mini charts' SVG path (components.sparklines.svg_path): a pure function of the prices."""

import re
from decimal import Decimal

from components.sparklines import HEIGHT, MAX_POINTS, WIDTH, svg_path


def points(path: str) -> list[tuple[float, float]]:
    assert path.startswith("M")
    return [(float(x), float(y)) for x, y in (p.split(",") for p in re.split("[ML]", path)[1:])]


def prices(*values: str) -> list[Decimal]:
    return [Decimal(v) for v in values]


def test_fewer_than_two_prices_draw_nothing():
    assert svg_path([]) == ""
    assert svg_path(prices("10.00")) == ""


def test_the_line_spans_the_width_with_the_highest_price_on_top():
    drawn = points(svg_path(prices("10.00", "12.00", "11.00")))
    assert [x for x, _ in drawn] == [0, WIDTH / 2, WIDTH]
    top, bottom = 1, HEIGHT - 1  # a pixel of room for the stroke
    assert drawn[1][1] == top and drawn[0][1] == bottom
    assert drawn[2][1] == (top + bottom) / 2


def test_a_falling_day_ends_lower_than_it_began():
    drawn = points(svg_path(prices("50.00", "49.50", "48.00")))
    assert drawn[0][1] < drawn[-1][1]  # y grows downwards


def test_steady_prices_draw_a_flat_line_through_the_middle():
    drawn = points(svg_path(prices("7.25", "7.25", "7.25")))
    assert {y for _, y in drawn} == {HEIGHT / 2}


def test_a_long_day_is_thinned_to_a_few_points_keeping_both_ends():
    day = [Decimal(100 + i % 7) for i in range(390)]  # a session of minute closes, opening at its low
    day[-1] = Decimal("120")  # the close is the day's high
    drawn = points(svg_path(day))
    assert len(drawn) == MAX_POINTS
    assert drawn[0] == (0, HEIGHT - 1) and drawn[-1] == (WIDTH, 1)
    assert len(svg_path(day)) < 500  # small enough to send a few times a minute


def test_coordinates_are_short_numbers():
    path = svg_path(prices("1.00", "1.01", "1.03"))
    assert re.fullmatch(r"M\d+(\.\d)?,\d+(\.\d)?(L\d+(\.\d)?,\d+(\.\d)?)*", path)
