"""Importing the code starts nothing: no broker built or made dramatiq's global one, no engine,
no thread. A process builds those as it starts (worker.main.start_broker, its first unit of
work), from the settings in force then."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Imports every module of the three packages, then reports what exists; then starts a broker
# and a database as a process does, to show that the probes see them.
PROBE = """
import gc, importlib, json, pkgutil, threading

from sqlalchemy.engine import Engine

modules = []
for package in ("services", "api", "worker"):
    for found in pkgutil.walk_packages(importlib.import_module(package).__path__, prefix=package + "."):
        if found.name.endswith(".__main__"):  # `python -m` entry points run when imported, by definition
            continue
        importlib.import_module(found.name)
        modules.append(found.name)

import dramatiq.broker

from services.database import create_database
from services.settings import Settings
from worker.actors import has_broker


def state():
    return {
        "global_broker": dramatiq.broker.global_broker is not None,
        "actors_bound": has_broker(),
        "engines": sum(isinstance(o, Engine) for o in gc.get_objects()),
        "threads": sorted(t.name for t in threading.enumerate()),
    }


imported = state()
from worker.main import start_broker

start_broker(Settings(broker_url=None))
database = create_database(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
print(json.dumps({"modules": modules, "imported": imported, "started": state()}))
"""


def test_importing_every_module_builds_no_broker_engine_or_thread():
    output = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    report = json.loads(output.strip().splitlines()[-1])
    assert {"api.app", "api.deps", "worker.main", "worker.scheduler", "services.unit_of_work"} <= set(report["modules"])
    assert report["imported"] == {
        "global_broker": False,
        "actors_bound": False,
        "engines": 0,
        "threads": ["MainThread"],
    }
    # The probes see what a process's start builds (an engine each for writes and reads).
    assert report["started"]["global_broker"] and report["started"]["actors_bound"]
    assert report["started"]["engines"] == 2
