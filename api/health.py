"""`/api/health`: what a load balancer or a monitor asks each instance."""

from fastapi import APIRouter

from api.errors import documented, error_response
from services import health, runtime

router = APIRouter(prefix="/api", tags=["operations"])


@router.get("/health", responses=documented(503))
async def get_health() -> health.Health:
    """This instance's name, the leader roles it holds, and whether its database and Redis answer.

    503 SERVICE_UNAVAILABLE (the health report in `details`) while the database is unreachable: take the
    instance out of rotation. An unreachable Redis is `degraded` with 200: the app still serves from PostgreSQL.
    """
    report = await health.check(runtime.current())
    if report.database != "ok":
        return error_response("SERVICE_UNAVAILABLE", "The database is unreachable.", report.model_dump())
    return report
