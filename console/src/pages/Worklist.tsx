/**
 * Call-backs: missed incoming calls nobody has called back yet, one row per number, oldest
 * first. An operator claims one (everyone sees it claimed at once: notify pushes
 * `worklist.changed` and the page reads the list again), calls the number, and the
 * call-back leaves the list by itself once the call reaches the number; or closes it with a
 * result. Managers see how many wait per clinic and how old the oldest is.
 */
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { ApiError, worklist, type Callback, type CloseResult, type WorklistCount } from "../api";
import CallButton from "../components/CallButton";
import { dateTime, phone } from "../format";
import { useNotify } from "../notify";
import { can, useDirectory, usePrincipal } from "../session";

const RESULTS: { value: CloseResult; label: string }[] = [
  { value: "no_answer", label: "No answer" },
  { value: "wrong_number", label: "Wrong number" },
  { value: "resolved_elsewhere", label: "Resolved elsewhere" },
];

/** How long ago, coarsely: `5 min`, `2 h 5 min`, `3 d 4 h`. */
function age(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function ClinicSummary({ count }: { count: WorklistCount | null }) {
  if (!count || count.clinics.length === 0) return null;
  return (
    <section aria-labelledby="per-clinic">
      <h2 id="per-clinic">Per clinic</h2>
      <div className="table-wrap">
        <table className="data" data-testid="worklist-clinics">
          <thead>
            <tr>
              <th>Clinic</th>
              <th className="num">Waiting</th>
              <th className="num">Claimed</th>
              <th>Oldest waiting</th>
            </tr>
          </thead>
          <tbody>
            {count.clinics.map((c) => (
              <tr key={c.clinic_id ?? "none"}>
                <td>{c.clinic_name ?? c.clinic_id ?? "No clinic"}</td>
                <td className="num">{c.open}</td>
                <td className="num">{c.claimed}</td>
                <td>{age(c.oldest_age_seconds)}</td>
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
      onDone(error instanceof ApiError ? error.message : "The action failed.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="worklist-actions nowrap">
      {item.claimed_by === null && (
        <button type="button" className="small" disabled={busy} onClick={() => void run(() => worklist.claim(item.call_id))}>
          Claim
        </button>
      )}
      {(mine || (others && principal.role === "admin")) && (
        <button type="button" className="small" disabled={busy} onClick={() => void run(() => worklist.release(item.call_id))}>
          Release
        </button>
      )}
      {!others && (
        <>
          <select aria-label="Result" value={result} onChange={(e) => setResult(e.target.value as CloseResult)}>
            {RESULTS.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="small"
            disabled={busy}
            onClick={() => void run(() => worklist.close(item.call_id, result))}
          >
            Close
          </button>
        </>
      )}
    </span>
  );
}

export default function WorklistPage() {
  const principal = usePrincipal();
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
      setError(e instanceof ApiError ? e.message : "The call-backs could not be loaded.");
    } finally {
      setLoading(false);
    }
  }, [clinic]);

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
        <h1>Call-backs</h1>
        <div className="actions">
          <label className="inline">
            Clinic
            <select value={clinic} onChange={(e) => setClinic(e.target.value)}>
              <option value="">All clinics</option>
              {clinics.map((c) => (
                <option key={c.clinic_id} value={c.clinic_id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => void load()} disabled={loading}>
            ⟳ Refresh
          </button>
        </div>
      </div>
      <p className="muted">
        Missed calls nobody has called back yet, oldest first. A call to the number takes it off the list by
        itself.
        {count && count.oldest_age_seconds !== null && ` The oldest has waited ${age(count.oldest_age_seconds)}.`}
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
              <th>Number</th>
              <th>Contact</th>
              <th className="num">Attempts</th>
              <th>Missed</th>
              <th>Waiting</th>
              <th>Clinic</th>
              <th>Ext.</th>
              <th>Claimed by</th>
              <th />
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
                    (item.contact_name ?? <span className="muted">unknown</span>)
                  )}
                </td>
                <td className="num">{item.attempts}</td>
                <td className="nowrap">
                  {dateTime(item.first_missed_at, zone)}
                  {item.attempts > 1 && <span className="muted"> … {dateTime(item.last_missed_at, zone)}</span>}
                </td>
                <td className="nowrap">{age(item.age_seconds)}</td>
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
                  Nobody is waiting for a call-back.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {more && <p className="muted">Showing the oldest {items.length}; call some back to see the rest.</p>}
    </div>
  );
}
