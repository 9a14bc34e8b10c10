"""Which browser origins may open a socket: the rule of api.origin on its own."""

import pytest

from api.origin import is_allowed

FRIENDS = ("https://friend.example",)


@pytest.mark.parametrize(
    ("origin", "hosts"),
    [
        ("http://127.0.0.1:8080", ["127.0.0.1:8080"]),  # direct
        ("https://sherwood.example", ["sherwood.example"]),  # default port on both sides
        ("https://sherwood.example", ["sherwood.example:443"]),
        ("http://sherwood.example:8443", ["sherwood.example"]),  # behind nginx's `proxy_set_header Host $host`
        ("https://Sherwood.Example/", ["127.0.0.1:8081", "sherwood.example"]),  # X-Forwarded-Host
        ("https://friend.example", ["127.0.0.1:8080"]),  # ALLOWED_ORIGINS
        ("http://[::1]:8080", ["[::1]:8080"]),
    ],
)
def test_our_own_and_allowed_origins_pass(origin, hosts):
    assert is_allowed(origin, hosts, FRIENDS)


@pytest.mark.parametrize(
    ("origin", "hosts"),
    [
        ("http://evil.example", ["127.0.0.1:8080"]),
        ("http://127.0.0.1:9999", ["127.0.0.1:8080"]),  # another port, when the Host names ours
        ("http://sherwood.example.evil.example", ["sherwood.example"]),
        ("http://evilsherwood.example", ["sherwood.example"]),
        ("null", ["127.0.0.1:8080"]),
        ("file://", ["127.0.0.1:8080"]),
        ("ws://127.0.0.1:8080", ["127.0.0.1:8080"]),
        ("http://127.0.0.1:8080", ["", "127.0.0.1:notaport"]),
        ("https://friend.example:444", ["127.0.0.1:8080"]),
    ],
)
def test_other_origins_are_refused(origin, hosts):
    assert not is_allowed(origin, hosts, FRIENDS)
