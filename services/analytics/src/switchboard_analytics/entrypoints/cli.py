"""``switchboard-analytics serve | migrate``."""

from __future__ import annotations

from switchboard_runtime.cli import service_main


def main() -> None:
    """Entry point of the ``switchboard-analytics`` command."""
    from switchboard_analytics.bootstrap import build_app
    from switchboard_analytics.settings import AnalyticsSettings

    service_main(package="switchboard_analytics", settings=AnalyticsSettings, build_app=build_app)  # type: ignore[arg-type]
