"""The HTTP stack's own cost, for bench/request_cpu.py: the apps uvicorn serves there beside Sherwood.

`bare` answers every request with the shape of a placement's answer and does nothing else (uvicorn, httptools and
uvloop alone); `one_route` is a FastAPI app with the placement's route signature (the OrderCreate body validated,
the idempotency header read, the answer sent as bytes) and no middleware, no credentials, no database.
"""

from typing import Annotated

from fastapi import FastAPI, Header, Response

from models.order import OrderCreate

ANSWER = b'{"order": {"id": "00000000-0000-0000-0000-000000000000", "status": "filled"}}'


async def bare(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": ANSWER})


one_route = FastAPI()


@one_route.post("/api/orders", status_code=201)
async def place_order(body: OrderCreate, x_idempotency_key: Annotated[str | None, Header()] = None) -> Response:
    return Response(ANSWER, status_code=201, media_type="application/json")
