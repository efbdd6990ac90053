"""Reference data, and the demo data set when asked for."""

import logging

from services.database import Database
from services.demo.service import load_demo_data
from services.gcm.service import load_reference_data
from services.unit_of_work import unit_of_work

logger = logging.getLogger("services.seed")


async def load_initial_data(database: Database, *, demo: bool) -> None:
    """Idempotent: safe on every start."""
    async with unit_of_work(database=database) as session:
        await load_reference_data(session)
        if demo:
            loaded = await load_demo_data(session)
            if not loaded:
                logger.info("a non-demo global network exists; demo data not loaded")
