/** Settings → Audit (admins): who viewed a client's card, heard a recording, exported a
 * list, merged clients, changed settings or operators — when and from where. Read only:
 * nobody can change the trail. */
import { useEffect, useState, type FormEvent } from "react";
import { audit, type AuditFilters, type AuditRecord } from "../api";
import { useTranslation } from "react-i18next";
import { dateTime } from "../format";
import { useDirectory } from "../session";

/** The audited actions (services' READMEs list them), as the filter offers them. */
const ACTIONS: { value: string; label: string }[] = [
  { value: "client.viewed", label: "Client card viewed" },
  { value: "clients.merged", label: "Clients merged" },
  { value: "recording.listened", label: "Recording listened" },
  { value: "call_log.exported", label: "Call log exported" },
  { value: "calls_report.exported", label: "Calls report exported" },
  { value: "operator.created", label: "Operator created" },
  { value: "operator.changed", label: "Operator changed" },
  { value: "operator.deactivated", label: "Operator deactivated" },
  { value: "operator.sessions_ended", label: "Operator's sessions ended" },
  { value: "cancellation_reason.created", label: "Cancellation reason added" },
  { value: "cancellation_reason.changed", label: "Cancellation reason changed" },
  { value: "integration_settings.changed", label: "Integration settings changed" },
  { value: "did.created", label: "Number added" },
  { value: "did.changed", label: "Number changed" },
  { value: "did.removed", label: "Number removed" },
  { value: "extension.created", label: "Extension added" },
  { value: "extension.changed", label: "Extension changed" },
  { value: "extension.removed", label: "Extension removed" },
];
const actionLabel = Object.fromEntries(ACTIONS.map((a) => [a.value, a.label]));

interface Form {
  actor: string;
  action: string;
  subject_id: string;
  from: string;
  to: string;
}

const EMPTY: Form = { actor: "", action: "", subject_id: "", from: "", to: "" };

/** A date typed in the browser's zone, as the instant its day starts (or the next day's). */
function dayStart(isoDate: string, nextDay = false): string | undefined {
  if (!isoDate) return undefined;
  const start = new Date(`${isoDate}T00:00:00`);
  if (nextDay) start.setDate(start.getDate() + 1);
  return start.toISOString();
}

function filtersOf(form: Form): AuditFilters {
  return {
    actor: form.actor || undefined,
    action: form.action || undefined,
    subject_id: form.subject_id.trim() || undefined,
    from: dayStart(form.from),
    to: dayStart(form.to, true),
  };
}

function details(record: AuditRecord): string {
  const entries = Object.entries(record.details);
  return entries.length ? JSON.stringify(record.details) : "";
}

export default function AuditTrail() {
  const { t } = useTranslation();
  const dir = useDirectory();
  const [form, setForm] = useState<Form>(EMPTY);
  const [applied, setApplied] = useState<AuditFilters>({});
  const [items, setItems] = useState<AuditRecord[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  async function load(filters: AuditFilters, before: number | null) {
    setLoading(true);
    try {
      const page = await audit.list(filters, before);
      setItems((shown) => (before === null ? page.items : [...shown, ...page.items]));
      setNextBefore(page.next_before);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    void load(applied, null);
  }, [applied]);

  function search(event: FormEvent) {
    event.preventDefault();
    if (form.from && form.to && form.to < form.from) {
      setError("The period ends before it starts.");
      return;
    }
    setApplied(filtersOf(form));
  }

  const set = (field: keyof Form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [field]: e.target.value });

  return (
    <section aria-label="Audit trail">
      <form className="form-row" onSubmit={search} aria-label="Audit filters">
        <label>
          Operator
          <select value={form.actor} onChange={set("actor")}>
            <option value="">Anyone</option>
            {dir.operators.map((o) => (
              <option key={o.operator_id} value={o.operator_id}>
                {o.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <select value={form.action} onChange={set("action")}>
            <option value="">Any action</option>
            {ACTIONS.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Record id
          <input value={form.subject_id} onChange={set("subject_id")} placeholder="client, call, operator…" />
        </label>
        <label>
          From
          <input type="date" value={form.from} onChange={set("from")} />
        </label>
        <label>
          To
          <input type="date" value={form.to} onChange={set("to")} />
        </label>
        <button type="submit">Show</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="table-wrap">
        <table className="data" aria-label="Audit records">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Record</th>
              <th scope="col">Details</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.record_id}>
                <td>{dateTime(r.occurred_at, Intl.DateTimeFormat().resolvedOptions().timeZone)}</td>
                <td>
                  {r.actor_name || r.actor_id}
                  <span className="muted small"> {t(`role.${r.actor_role}`, { defaultValue: r.actor_role })}</span>
                </td>
                <td>{actionLabel[r.action] ?? r.action}</td>
                <td>
                  {r.subject_type}
                  {r.subject_id && <span className="muted small"> {r.subject_id}</span>}
                </td>
                <td className="small">{details(r)}</td>
                <td title={r.user_agent ?? undefined}>{r.client_address ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && items.length === 0 && !error && <p className="muted">No records match.</p>}
      {nextBefore !== null && (
        <button type="button" disabled={loading} onClick={() => void load(applied, nextBefore)}>
          Show older
        </button>
      )}
    </section>
  );
}
