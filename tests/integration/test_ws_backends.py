"""`/ws` across two instances on one PostgreSQL + Redis, and on the embedded default (SQLite, in-process bus)."""

import httpx
import orjson
from websockets.asyncio.client import connect

from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import quote
from tests.support.server import running_app
from tests.support.ws import Tape, assert_closed_with, receive, receive_type, sign_up, ws_url


async def subscribed(ws, *symbols: str) -> None:
    await ws.send(orjson.dumps({"type": "subscribe", "symbols": symbols}).decode())
    await receive_type(ws, "quotes")


async def test_two_instances_stream_the_same_prices_and_share_logouts(tmp_path):
    with fresh_postgres("ws_two") as database_url:
        env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL}
        with running_app(tmp_path / "a.log", **env) as a, running_app(tmp_path / "b.log", **env) as b:
            _, token = sign_up(a)
            tape = Tape(database_url)
            async with connect(ws_url(a)) as on_a, connect(ws_url(b, token)) as on_b:
                assert (await receive(on_a))["authenticated"] is False
                assert (await receive(on_b))["authenticated"] is True
                for ws in (on_a, on_b):
                    await subscribed(ws, "KO")
                published = quote("KO", "61.37", volume=777)
                await tape.publish(published)
                for ws in (on_a, on_b):
                    assert (await receive_type(ws, "quote_batch"))["data"] == [published.to_wire()]

                response = httpx.post(f"{a}/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 204
                assert (await receive_type(on_b, "error"))["code"] == "INVALID_TOKEN"
                await assert_closed_with(on_b, 4401)
            await tape.close()


async def test_the_embedded_default_streams_simulated_quotes_and_ends_sessions(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'sherwood.db'}", "MARKET_FEED": "simulator"}
    with running_app(tmp_path / "app.log", **env) as app:
        _, token = sign_up(app)
        async with connect(ws_url(app)) as ws:
            assert (await receive(ws))["authenticated"] is False
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            assert (await receive(ws))["authenticated"] is True
            await ws.send('{"type":"subscribe","symbols":["SPY","QQQ"]}')
            snapshot = await receive_type(ws, "quotes")
            assert {q["symbol"] for q in snapshot["data"]} <= {"SPY", "QQQ"}  # empty until the feed has started
            batch = await receive_type(ws, "quote_batch", timeout=15)
            assert {q["symbol"] for q in batch["data"]} <= {"SPY", "QQQ"}

            response = httpx.post(f"{app}/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 204
            assert (await receive_type(ws, "error"))["code"] == "INVALID_TOKEN"
            await assert_closed_with(ws, 4401)
