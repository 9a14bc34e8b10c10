"""Price alerts: create, list and delete them, and fire each one exactly once.

Creating or deleting an alert announces it on the events channel (`alert_changed`, for the alert engine's
index); firing announces it to its user (`alert`, the WebSocket message). An alert created with the last
price already at or beyond its level fires at once: it is checked against the latest quote when indexed.
"""

import uuid
from datetime import datetime

import orjson
from sqlalchemy import func, update
from sqlmodel import Session, select

from models.alert import AlertCreate, AlertPublic, PriceAlert
from services.infra.bus import EVENTS_CHANNEL, Bus
from services.infra.errors import DomainError
from services.infra.event_hub import publish_user_event
from services.market import symbols

MAX_ACTIVE = 100  # per user
MAX_FIRED_LISTED = 100  # fired alerts a list shows, newest first; older ones stay in the database
ALERT_CHANGED = "alert_changed"  # internal event: the engine's index follows it; no client sees it


def _json(alert: AlertPublic) -> dict:
    return alert.model_dump(mode="json", by_alias=True)


def _announce_change(bus: Bus, user_id: uuid.UUID, alert: AlertPublic, *, deleted: bool = False) -> None:
    event = {"type": ALERT_CHANGED, "userId": str(user_id), "data": _json(alert), "deleted": deleted}
    bus.publish(EVENTS_CHANNEL, orjson.dumps(event).decode())


def list_alerts(db: Session, user_id: uuid.UUID) -> list[AlertPublic]:
    """The user's alerts, newest first: every active one (at most MAX_ACTIVE) and the MAX_FIRED_LISTED newest
    fired ones, so the list stays bounded however many alerts have fired over time."""
    mine = select(PriceAlert).where(PriceAlert.user_id == user_id)
    newest_first = (PriceAlert.created_at.desc(), PriceAlert.id.desc())
    active = db.exec(mine.where(PriceAlert.status == "active").order_by(*newest_first))
    fired = db.exec(mine.where(PriceAlert.status != "active").order_by(*newest_first).limit(MAX_FIRED_LISTED))
    rows = sorted([*active, *fired], key=lambda alert: (alert.created_at, alert.id), reverse=True)
    return [AlertPublic.of(alert) for alert in rows]


def create(db: Session, bus: Bus, *, user_id: uuid.UUID, request: AlertCreate, now: datetime) -> AlertPublic:
    """Set an alert on a listed symbol; at most MAX_ACTIVE active ones per user (a soft cap under races)."""
    if not symbols.is_listed(request.symbol):
        raise DomainError("UNKNOWN_SYMBOL", f"{request.symbol} is not listed.", {"symbols": [request.symbol]})
    active = select(func.count()).select_from(PriceAlert).where(PriceAlert.user_id == user_id)
    if db.exec(active.where(PriceAlert.status == "active")).one() >= MAX_ACTIVE:
        message = f"You can have at most {MAX_ACTIVE} active alerts; delete one first."
        raise DomainError("VALIDATION_ERROR", message, [{"field": "body", "message": message}])
    alert = PriceAlert(
        user_id=user_id,
        symbol=request.symbol,
        condition=request.condition,
        price=request.price,
        created_at=now,
    )
    db.add(alert)
    db.commit()
    public = AlertPublic.of(alert)
    _announce_change(bus, user_id, public)
    return public


def _alert_id(text: str | uuid.UUID) -> uuid.UUID:
    """An id that cannot name an alert is answered like one that names nobody's."""
    try:
        return text if isinstance(text, uuid.UUID) else uuid.UUID(text)
    except ValueError:
        raise DomainError("ALERT_NOT_FOUND", "There is no such alert.") from None


def delete(db: Session, bus: Bus, *, user_id: uuid.UUID, alert_id: str | uuid.UUID) -> AlertPublic:
    """Delete an alert, active or triggered; returns it as it was."""
    query = select(PriceAlert).where(PriceAlert.id == _alert_id(alert_id), PriceAlert.user_id == user_id)
    alert = db.exec(query.with_for_update()).first()
    if alert is None:
        raise DomainError("ALERT_NOT_FOUND", "There is no such alert.")
    public = AlertPublic.of(alert)
    db.delete(alert)
    db.commit()
    if public.status == "active":
        _announce_change(bus, user_id, public, deleted=True)
    return public


def active(db: Session) -> list[PriceAlert]:
    """Every active alert, for the engine's index."""
    return list(db.exec(select(PriceAlert).where(PriceAlert.status == "active")))


def trigger(db: Session, bus: Bus, *, alert_id: uuid.UUID, now: datetime) -> AlertPublic | None:
    """Fire an active alert. Only the caller whose update changed the row announces it, so however many
    engines race, the user hears once; None when it was no longer active (fired or deleted)."""
    changed = db.execute(
        update(PriceAlert)
        .where(PriceAlert.id == alert_id, PriceAlert.status == "active")
        .values(status="triggered", triggered_at=now)
    )
    if changed.rowcount != 1:
        db.rollback()
        return None
    alert = db.exec(select(PriceAlert).where(PriceAlert.id == alert_id)).one()
    db.commit()
    public = AlertPublic.of(alert)
    publish_user_event(bus, alert.user_id, "alert", _json(public))
    return public
