"""Ending a membership ends the entity's working-group posts (test_working_groups.py tests
what ends). Memberships do not import working groups: working groups register that
consequence when imported. This checks that the API, which ends memberships, has it."""

import subprocess
import sys

CHECK = """
import api.app
from services.memberships.endings import registered
from services.working_groups.service import end_posts_for_membership
assert registered() == (end_posts_for_membership,), registered()
"""


def test_the_api_ends_a_leaving_members_posts_with_its_membership() -> None:
    # A fresh interpreter: this test session has imported everything already.
    check = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
