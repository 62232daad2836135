from tests.jobs.helpers import start_worker  # noqa: F401  (fixture)
