/**
 * "Call" next to a number: asks telephony to ring the operator's own extension and then
 * dial the number (click-to-call), and says what the PBX answered — ringing, or failed
 * with its reason. Hidden for roles that do not make calls (managers).
 */
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, telephony } from "../api";
import { can, usePrincipal } from "../session";
import { phone } from "../format";

type State = { kind: "idle" } | { kind: "calling" } | { kind: "ringing"; extension: string } | { kind: "failed"; reason: string };

export default function CallButton({ number }: { number: string | null | undefined }) {
  const principal = usePrincipal();
  const [state, setState] = useState<State>({ kind: "idle" });
  const { t } = useTranslation();
  if (!number || !can.takeCalls(principal.role)) return null;

  async function call() {
    setState({ kind: "calling" });
    try {
      const result = await telephony.clickToCall(number as string);
      setState({ kind: "ringing", extension: result.extension });
    } catch (error) {
      const body = error instanceof ApiError ? (error.body as { reason?: string; detail?: string } | null) : null;
      const reason = body?.reason ?? body?.detail ?? (error instanceof Error ? error.message : t("callButton.unknownFailure"));
      setState({ kind: "failed", reason: String(reason) });
    }
  }

  return (
    <span className="call-action nowrap">
      <button
        type="button"
        className="small"
        disabled={state.kind === "calling"}
        aria-label={t("callButton.callNumber", { number: phone(number) })}
        onClick={() => void call()}
      >
        ☎ {t("callButton.call")}
      </button>
      {state.kind !== "idle" && (
        <span role="status" className={state.kind === "failed" ? "error" : "muted"} data-testid="call-result">
          {state.kind === "calling" && ` ${t("callButton.calling")}`}
          {state.kind === "ringing" && ` ${t("callButton.ringing", { extension: state.extension })}`}
          {state.kind === "failed" && ` ${t("callButton.failed", { reason: state.reason })}`}
        </span>
      )}
    </span>
  );
}
