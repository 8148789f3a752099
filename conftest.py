"""Hypothesis profiles for the whole suite.

`scripts/test` and CI run the `ci` profile: derandomized (the same examples every run, so a fresh clone is green or
red for a reason, never by luck) and with no example database carried between runs. `HYPOTHESIS_PROFILE=explore`
searches with fresh randomness and more examples when you are hunting for a counter-example.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, database=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("explore", max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
