"""The scheduler's sweep log: one row per sweep, written by the leader that ran it."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base


class SchedulerSweep(Base):
    """A sweep, started only while its scheduler held the leader lock (checked in the
    inserting statement); ``finished_at`` stays empty when it did not end normally."""

    __tablename__ = "scheduler_sweeps"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    scheduler_id: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_scheduler_sweeps_started", "started_at"),)


class SweepRun(Base):
    """Each named sweep's last run (``registry status``): one row per sweep, upserted by
    the leader after every sweep."""

    __tablename__ = "scheduler_sweep_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    scheduler_id: Mapped[str] = mapped_column(String(200))
    last_run_at: Mapped[datetime]
    duration_seconds: Mapped[float] = mapped_column(Float)
    failed: Mapped[bool] = mapped_column(Boolean)
