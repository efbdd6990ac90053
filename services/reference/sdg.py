"""The 169 targets of the Sustainable Development Goals, by number (``data/sdg_targets.toml``)."""

import difflib
from dataclasses import dataclass
from functools import cache
from typing import Any

from services.reference.countries import _read_data


@dataclass(frozen=True)
class Goal:
    number: int
    title: str
    targets: tuple[str, ...]

    def describe_targets(self) -> str:
        """``1.1 to 1.5, 1.a and 1.b``: the goal's targets, for messages."""
        numbered = [t for t in self.targets if t.split(".")[1].isdigit()]
        lettered = [t for t in self.targets if not t.split(".")[1].isdigit()]
        parts = [f"{numbered[0]} to {numbered[-1]}"]
        if len(lettered) > 2:
            parts.append(f"{lettered[0]} to {lettered[-1]}")
        else:
            parts += lettered
        return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


@cache
def goals() -> dict[int, Goal]:
    found = {}
    for goal in _read_data("sdg_targets.toml")["goals"]:
        number = goal["number"]
        numbered = [f"{number}.{n}" for n in range(1, goal["numbered"] + 1)]
        lettered = [f"{number}.{letter}" for letter in goal["lettered"]]
        found[number] = Goal(number=number, title=goal["title"], targets=tuple(numbered + lettered))
    return found


@cache
def targets() -> tuple[str, ...]:
    """Every target number, goal by goal: 1.1 ... 17.19."""
    return tuple(t for goal in goals().values() for t in goal.targets)


def sdg_target_problem(value: str) -> str | None:
    """Why ``value`` is not an SDG target, in words, naming the nearest valid ones; None if it is one."""
    if value in targets():
        return None
    goal_part = value.split(".", 1)[0]
    goal = goals().get(int(goal_part)) if goal_part.isdigit() else None
    # Within the goal first: 1.19 is nearer 1.1 than 17.19.
    nearest = difflib.get_close_matches(value.lower(), goal.targets, n=2, cutoff=0.5) if goal else []
    others = [t for t in difflib.get_close_matches(value.lower(), targets(), n=4, cutoff=0.5) if t not in nearest]
    nearest = (nearest + others)[:3]
    suggestion = f" The nearest are {', '.join(nearest)}." if nearest else ""
    if goal is None:
        return (
            f"{value!r} is not an SDG target: targets are numbered goal.target, goals 1 to 17 (e.g. 10.7).{suggestion}"
        )
    return f"{value!r} is not an SDG target: goal {goal.number}'s targets are {goal.describe_targets()}.{suggestion}"


def check_sdg_target(value: str) -> str:
    problem = sdg_target_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def target_list() -> list[dict[str, Any]]:
    """Every target with its goal, for GET /v1/sdg-targets."""
    return [
        {"number": target, "goal": goal.number, "goal_title": goal.title}
        for goal in goals().values()
        for target in goal.targets
    ]
