"""Hypothesis profiles for the Beteiligte tests (DECISIONS 19).

"ci" (default): derandomized, 200 examples, no deadline. "long": 5000 examples, chosen with
HYPOTHESIS_PROFILE=long for a deeper run on demand.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
