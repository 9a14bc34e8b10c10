"""Stopping a connection's (or the app's) helper tasks."""

import asyncio
from collections.abc import Collection


async def cancel_and_wait(tasks: Collection[asyncio.Task]) -> None:
    """Cancel the tasks and wait until every one has ended.

    `asyncio.wait`, not `gather`: when the caller is itself cancelled meanwhile (a server or test client tearing the
    connection down), gather would raise the CancelledError of whichever child ended last, a bare one its owner's
    cancel scope does not recognise as its own, and the teardown would fail instead of ending quietly.
    """
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
