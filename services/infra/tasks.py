"""Stopping a connection's (or the app's) helper tasks."""

import asyncio
from collections.abc import Collection


async def cancel_and_wait(tasks: Collection[asyncio.Task], *, timeout: float | None = None) -> set[asyncio.Task]:
    """Cancel the tasks and wait until every one has ended, or `timeout` seconds; the tasks still running then.

    `asyncio.wait`, not `gather`: when the caller is itself cancelled meanwhile (a server or test client tearing the
    connection down), gather would raise the CancelledError of whichever child ended last, a bare one its owner's
    cancel scope does not recognise as its own, and the teardown would fail instead of ending quietly.
    """
    for task in tasks:
        task.cancel()
    if not tasks:
        return set()
    _, running = await asyncio.wait(tasks, timeout=timeout)
    return running
