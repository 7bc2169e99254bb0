/**
 * Call-backs: missed incoming calls nobody has called back yet, one row per number, oldest
 * first. An operator claims one (everyone sees it claimed at once: notify pushes
 * `worklist.changed` and the page reads the list again), calls the number, and the
 * call-back leaves the list by itself once the call reaches the number; or closes it with a
 * result. Managers see how many wait per clinic and how old the oldest is.
 */
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { ApiError, worklist, type Callback, type CloseResult, type WorklistCount } from "../api";
import CallButton from "../components/CallButton";
import { count as formatCount, dateTime, phone, waited } from "../format";
import { useNotify } from "../notify";
import { can, useDirectory, usePrincipal } from "../session";

const RESULTS: CloseResult[] = ["no_answer", "wrong_number", "resolved_elsewhere"];

function ClinicSummary({ count }: { count: WorklistCount | null }) {
  const { t } = useTranslation();
  if (!count || count.clinics.length === 0) return null;
  return (
    <section aria-labelledby="per-clinic">
      <h2 id="per-clinic">{t("worklist.perClinic")}</h2>
      <div className="table-wrap">
        <table className="data" data-testid="worklist-clinics">
          <thead>
            <tr>
              <th>{t("worklist.clinicColumn.clinic")}</th>
              <th className="num">{t("worklist.clinicColumn.waiting")}</th>
              <th className="num">{t("worklist.clinicColumn.claimed")}</th>
              <th>{t("worklist.clinicColumn.oldest")}</th>
            </tr>
          </thead>
          <tbody>
            {count.clinics.map((c) => (
              <tr key={c.clinic_id ?? "none"}>
                <td>{c.clinic_name ?? c.clinic_id ?? t("worklist.noClinic")}</td>
                <td className="num">{formatCount(c.open)}</td>
                <td className="num">{formatCount(c.claimed)}</td>
                <td>{waited(c.oldest_age_seconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Actions({ item, onDone }: { item: Callback; onDone: (error: string | null) => void }) {
  const principal = usePrincipal();
  const { t } = useTranslation();
  const [result, setResult] = useState<CloseResult>("no_answer");
  const [busy, setBusy] = useState(false);
  if (!can.workCallbacks(principal.role)) return null;
  const mine = item.claimed_by?.operator_id === principal.operator_id;
  const others = item.claimed_by !== null && !mine;

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    try {
      await action();
      onDone(null);
    } catch (error) {
      onDone(error instanceof ApiError ? error.message : t("worklist.actionFailed"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="worklist-actions nowrap">
      {item.claimed_by === null && (
        <button type="button" className="small" disabled={busy} onClick={() => void run(() => worklist.claim(item.call_id))}>
          {t("worklist.claim")}
        </button>
      )}
      {(mine || (others && principal.role === "admin")) && (
        <button type="button" className="small" disabled={busy} onClick={() => void run(() => worklist.release(item.call_id))}>
          {t("worklist.release")}
        </button>
      )}
      {!others && (
        <>
          <select aria-label={t("worklist.result")} value={result} onChange={(e) => setResult(e.target.value as CloseResult)}>
            {RESULTS.map((value) => (
              <option key={value} value={value}>
                {t(`worklist.closeResult.${value}`)}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="small"
            disabled={busy}
            onClick={() => void run(() => worklist.close(item.call_id, result))}
          >
            {t("worklist.close")}
          </button>
        </>
      )}
    </span>
  );
}

export default function WorklistPage() {
  const principal = usePrincipal();
  const { t } = useTranslation();
  const { clinics } = useDirectory();
  const { worklistVersion } = useNotify();
  const [clinic, setClinic] = useState("");
  const [items, setItems] = useState<Callback[]>([]);
  const [more, setMore] = useState(false);
  const [count, setCount] = useState<WorklistCount | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const [page, totals] = await Promise.all([worklist.list(clinic), worklist.count()]);
      setItems(page.items);
      setMore(page.more);
      setCount(totals);
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("worklist.loadFailed"));
    } finally {
      setLoading(false);
    }
  }, [clinic, t]);

  // Read again on every change notify announces (a claim, a call-back, a new missed call).
  useEffect(() => {
    void load();
  }, [load, worklistVersion]);

  const afterAction = (message: string | null) => {
    setActionError(message);
    void load();
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("worklist.title")}</h1>
        <div className="actions">
          <label className="inline">
            {t("worklist.clinic")}
            <select value={clinic} onChange={(e) => setClinic(e.target.value)}>
              <option value="">{t("worklist.allClinics")}</option>
              {clinics.map((c) => (
                <option key={c.clinic_id} value={c.clinic_id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => void load()} disabled={loading}>
            ⟳ {t("common.refresh")}
          </button>
        </div>
      </div>
      <p className="muted">
        {t("worklist.intro")}
        {count &&
          count.oldest_age_seconds !== null &&
          ` ${t("worklist.oldestWaited", { age: waited(count.oldest_age_seconds) })}`}
      </p>
      {(error || actionError) && (
        <p className="error" role="alert">
          {error ?? actionError}
        </p>
      )}
      {!can.workCallbacks(principal.role) && <ClinicSummary count={count} />}
      <div className="table-wrap" aria-busy={loading}>
        <table className="data" data-testid="worklist">
          <thead>
            <tr>
              <th>{t("worklist.column.number")}</th>
              <th>{t("worklist.column.contact")}</th>
              <th className="num">{t("worklist.column.attempts")}</th>
              <th>{t("worklist.column.missed")}</th>
              <th>{t("worklist.column.waiting")}</th>
              <th>{t("worklist.column.clinic")}</th>
              <th>{t("worklist.column.extension")}</th>
              <th>{t("worklist.column.claimedBy")}</th>
              <th>
                <span className="sr-only">{t("worklist.column.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => {
              // Times in the clinic's own zone, as the call log shows them.
              const zone = clinics.find((c) => c.clinic_id === item.clinic_id)?.time_zone ?? "UTC";
              return (
              <tr key={item.call_id} data-call-id={item.call_id} data-number={item.number}>
                <td className="nowrap">
                  {phone(item.number)} <CallButton number={item.number} />
                </td>
                <td>
                  {item.contact_id && item.contact_kind === "patient" ? (
                    <Link to={`/clients/${encodeURIComponent(item.contact_id)}`}>{item.contact_name}</Link>
                  ) : (
                    (item.contact_name ?? <span className="muted">{t("worklist.unknown")}</span>)
                  )}
                </td>
                <td className="num">{formatCount(item.attempts)}</td>
                <td className="nowrap">
                  {dateTime(item.first_missed_at, zone)}
                  {item.attempts > 1 && <span className="muted"> … {dateTime(item.last_missed_at, zone)}</span>}
                </td>
                <td className="nowrap">{waited(item.age_seconds)}</td>
                <td>{item.clinic_name ?? item.clinic_id ?? ""}</td>
                <td>{item.extension ?? ""}</td>
                <td data-testid="claimed-by">{item.claimed_by?.name ?? ""}</td>
                <td>
                  <Actions item={item} onDone={afterAction} />
                </td>
              </tr>
              );
            })}
            {!loading && items.length === 0 && (
              <tr>
                <td colSpan={9} className="muted">
                  {t("worklist.empty")}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {more && <p className="muted">{t("worklist.more", { count: items.length })}</p>}
    </div>
  );
}
