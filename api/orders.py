"""`/api/orders`: place (idempotently), list, read and cancel orders."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from api.deps import AccountChoice, CurrentAccount, CurrentCaller, DbDep
from api.errors import documented
from models.order import OrderCreate, OrderEnvelope, OrderList, OrderReplace, OrderStatus
from models.types import utcnow
from services import runtime
from services.infra.errors import DomainError
from services.trading import orders

router = APIRouter(prefix="/api/orders", tags=["orders"])


def _idempotency_key(key: str | None) -> str:
    if key is None or key == "":
        raise DomainError("MISSING_IDEMPOTENCY_KEY", "Send an X-Idempotency-Key header (1-255 printable characters).")
    if len(key) > 255 or not key.isprintable():
        raise DomainError(
            "VALIDATION_ERROR",
            "X-Idempotency-Key must be 1-255 printable characters.",
            [{"field": "X-Idempotency-Key", "message": "must be 1-255 printable characters"}],
        )
    return key


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderEnvelope,
    responses=documented(400, 401, 404, 409, 422, 429),
)
async def place_order(
    body: OrderCreate,
    caller: CurrentCaller,
    account_id: AccountChoice,
    x_idempotency_key: Annotated[str | None, Header(description="1-255 printable characters")] = None,
) -> Response:
    """Place an order. Retrying with the same key replays the first answer (`Idempotent-Replayed: true`)."""
    key = _idempotency_key(x_idempotency_key)
    rt = runtime.current()
    placement = await orders.submit(rt, user_id=caller.user.id, account_id=account_id, key=key, request=body)
    headers = {"Idempotent-Replayed": "true"} if placement.replayed else {}
    if placement.quota is not None:  # the placement limit's headers, more telling here than the general one's
        headers.update(placement.quota.headers())
    return Response(placement.body, status_code=placement.status, media_type="application/json", headers=headers)


@router.get("", responses=documented(400, 401, 404))
def list_orders(
    account_id: CurrentAccount,
    db: DbDep,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: uuid.UUID | None = None,
    nested: bool = False,
) -> OrderList:
    """Your orders, newest first; page with `before=<id of the last order you have>`. Legs are listed too, each
    with its `parentId`; `nested=true` lists the parents only, with their `legs` inside."""
    found = orders.list_orders(db, account_id=account_id, status=status_, limit=limit, before=before, nested=nested)
    return OrderList(orders=found)


def _order_id(text: str) -> uuid.UUID:
    """An id that cannot name an order is answered like one that names nobody's."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise DomainError("ORDER_NOT_FOUND", "There is no such order.") from None


@router.get("/{order_id}", responses=documented(401, 404))
def get_order(order_id: str, account_id: CurrentAccount, db: DbDep) -> OrderEnvelope:
    return OrderEnvelope(order=orders.get(db, account_id=account_id, order_id=_order_id(order_id)))


@router.delete("/{order_id}", responses=documented(401, 404, 409))
async def cancel_order(order_id: str, caller: CurrentCaller, account_id: CurrentAccount) -> OrderEnvelope:
    """Cancel a pending order, releasing the cash or shares it reserved."""
    rt, order_id = runtime.current(), _order_id(order_id)
    order = await orders.cancel(
        rt.store, rt.bus, user_id=caller.user.id, account_id=account_id, order_id=order_id, now=utcnow()
    )
    return OrderEnvelope(order=order)


@router.patch("/{order_id}", responses=documented(400, 401, 404, 409, 429))
async def replace_order(
    order_id: str, body: OrderReplace, caller: CurrentCaller, account_id: CurrentAccount, response: Response
) -> OrderEnvelope:
    """Replace a pending order (a simple one or an active leg) with a changed one: the old one becomes `replaced`
    and its reservation moves to the new one, which `replaces` it."""
    if not body.model_fields_set:
        raise DomainError("VALIDATION_ERROR", "Nothing to change.", [{"field": "body", "message": "change a field"}])
    replacement = await orders.submit_replacement(
        runtime.current(), user_id=caller.user.id, account_id=account_id, order_id=_order_id(order_id), change=body
    )
    if replacement.quota is not None:  # the placement limit's headers, as a placement answers with them
        response.headers.update(replacement.quota.headers())
    return OrderEnvelope(order=replacement.order)
