"""`/api/alerts`: price alerts that fire once when the last price reaches their level."""

from fastapi import APIRouter, status

from api.deps import CurrentCaller, DbDep
from api.errors import documented
from models.alert import AlertCreate, AlertEnvelope, AlertList
from models.types import utcnow
from services import runtime
from services.alerts import alerts

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@router.get("", responses=documented(401))
def list_alerts(caller: CurrentCaller, db: DbDep) -> AlertList:
    """Your alerts, active and triggered, newest first."""
    return AlertList(alerts=alerts.list_alerts(db, caller.user.id))


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(400, 401))
def create_alert(body: AlertCreate, caller: CurrentCaller, db: DbDep) -> AlertEnvelope:
    """`above` fires when the last price is at or over `price`, `below` at or under it; once. If the last price
    is already there, it fires at once (a WebSocket `alert` message follows the answer)."""
    bus = runtime.current().bus
    return AlertEnvelope(alert=alerts.create(db, bus, user_id=caller.user.id, request=body, now=utcnow()))


@router.delete("/{alert_id}", responses=documented(401, 404))
def delete_alert(alert_id: str, caller: CurrentCaller, db: DbDep) -> AlertEnvelope:
    """Delete an alert, active or triggered; answers with the alert as it was."""
    bus = runtime.current().bus
    return AlertEnvelope(alert=alerts.delete(db, bus, user_id=caller.user.id, alert_id=alert_id))
