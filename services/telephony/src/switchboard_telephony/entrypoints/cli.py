"""``switchboard-telephony serve | migrate | ami | freeswitch | simulate | rotate-secrets |
publish-dids``."""

from __future__ import annotations

from switchboard_runtime.cli import service_main


def main() -> None:
    """Entry point of the ``switchboard-telephony`` command."""
    from switchboard_telephony.bootstrap import build_app
    from switchboard_telephony.entrypoints import (
        connectors,
        did_commands,
        pbx_commands,
        secrets_commands,
    )
    from switchboard_telephony.settings import TelephonySettings

    service_main(
        package="switchboard_telephony",
        settings=TelephonySettings,
        build_app=build_app,  # type: ignore[arg-type]
        commands={
            "ami": (connectors.configure_ami, connectors.run_ami),
            "freeswitch": (connectors.configure_freeswitch, connectors.run_freeswitch),
            "simulate": (pbx_commands.configure_simulate, pbx_commands.run_simulate),
            "rotate-secrets": (secrets_commands.configure_rotate, secrets_commands.run_rotate),
            "publish-dids": (did_commands.configure_publish_dids, did_commands.run_publish_dids),
        },
    )
