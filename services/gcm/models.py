from sqlalchemy import CheckConstraint, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base


class GcmObjective(Base):
    __tablename__ = "gcm_objectives"

    number: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(300))

    __table_args__ = (CheckConstraint("number BETWEEN 1 AND 23", name="number_in_range"),)


class GuidingPrinciple(Base):
    __tablename__ = "guiding_principles"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, unique=True)
    title: Mapped[str] = mapped_column(String(100))
