"""``switchboard-crm-touch serve | migrate``."""

from __future__ import annotations

from switchboard_runtime.cli import service_main


def main() -> None:
    """Entry point of the ``switchboard-crm-touch`` command."""
    from switchboard_crm_touch.bootstrap import build_app
    from switchboard_crm_touch.settings import CrmTouchSettings

    service_main(package="switchboard_crm_touch", settings=CrmTouchSettings, build_app=build_app)  # type: ignore[arg-type]
