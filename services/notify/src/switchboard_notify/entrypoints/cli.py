"""``switchboard-notify serve | migrate``."""

from __future__ import annotations

from switchboard_runtime.cli import service_main


def main() -> None:
    """Entry point of the ``switchboard-notify`` command."""
    from switchboard_notify.bootstrap import build_app
    from switchboard_notify.settings import NotifySettings

    service_main(package="switchboard_notify", settings=NotifySettings, build_app=build_app)  # type: ignore[arg-type]
