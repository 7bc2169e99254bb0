/** Settings → Audit (admins): who viewed a client's or contact's card, heard a recording,
 * exported a list, merged clients, changed a touch, settings, operators or the directory —
 * when and from where. Read only: nobody can change the trail. */
import { useEffect, useState, type FormEvent } from "react";
import { audit, type AuditFilters, type AuditRecord } from "../api";
import { useTranslation } from "react-i18next";
import { dateTime } from "../format";
import { useDirectory } from "../session";

/** The audited actions (services' READMEs list them), in the order the filter offers them;
 * each is named by `audit.actions.<code>` in the locales. */
const ACTIONS = [
  "client.viewed",
  "clients.merged",
  "contact.viewed",
  "contact.timeline_viewed",
  "touch.changed",
  "recording.listened",
  "call_log.exported",
  "calls_report.exported",
  "service_level_report.exported",
  "when_report.exported",
  "conversion_report.exported",
  "operator.created",
  "operator.changed",
  "operator.deactivated",
  "operator.sessions_ended",
  "operator.password_reset",
  "cancellation_reason.created",
  "cancellation_reason.changed",
  "integration_settings.changed",
  "did.created",
  "did.changed",
  "did.removed",
  "extension.created",
  "extension.changed",
  "extension.removed",
  "clinic.created",
  "clinic.changed",
  "clinic.closure_added",
  "clinic.closure_removed",
  "service.created",
  "service.changed",
  "practitioner.created",
  "practitioner.changed",
  "practitioner.absence_added",
  "practitioner.absence_removed",
  "call_center.created",
  "call_center.changed",
  "notification_template.changed",
  "notification_template.reset",
] as const;
type Action = (typeof ACTIONS)[number];

/** The kinds of record the services audit, each named by `audit.subjects.<type>`. */
const SUBJECTS = [
  "client",
  "contact",
  "touch",
  "call",
  "call_log",
  "operator",
  "cancellation_reason",
  "integration",
  "did",
  "extension",
  "clinic",
  "service",
  "practitioner",
  "call_center",
  "notification_template",
] as const;
type Subject = (typeof SUBJECTS)[number];

const isAction = (code: string): code is Action => (ACTIONS as readonly string[]).includes(code);
const isSubject = (type: string): type is Subject => (SUBJECTS as readonly string[]).includes(type);

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
      setError(t("audit.periodReversed"));
      return;
    }
    setApplied(filtersOf(form));
  }

  // An action or record kind this console does not know yet shows as its code.
  const actionLabel = (code: string) => (isAction(code) ? t(`audit.actions.${code}`) : code);
  const subjectLabel = (type: string) => (isSubject(type) ? t(`audit.subjects.${type}`) : type);

  const set = (field: keyof Form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [field]: e.target.value });

  return (
    <section aria-label={t("audit.title")}>
      <form className="form-row" onSubmit={search} aria-label={t("audit.filters")}>
        <label>
          {t("audit.operator")}
          <select value={form.actor} onChange={set("actor")}>
            <option value="">{t("audit.anyone")}</option>
            {dir.operators.map((o) => (
              <option key={o.operator_id} value={o.operator_id}>
                {o.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("audit.action")}
          <select value={form.action} onChange={set("action")}>
            <option value="">{t("audit.anyAction")}</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {actionLabel(a)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("audit.recordId")}
          <input value={form.subject_id} onChange={set("subject_id")} placeholder={t("audit.recordIdPlaceholder")} />
        </label>
        <label>
          {t("audit.from")}
          <input type="date" value={form.from} onChange={set("from")} />
        </label>
        <label>
          {t("audit.to")}
          <input type="date" value={form.to} onChange={set("to")} />
        </label>
        <button type="submit">{t("audit.show")}</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="table-wrap">
        <table className="data" aria-label={t("audit.records")}>
          <thead>
            <tr>
              <th scope="col">{t("audit.column.occurred_at")}</th>
              <th scope="col">{t("audit.column.actor")}</th>
              <th scope="col">{t("audit.column.action")}</th>
              <th scope="col">{t("audit.column.subject")}</th>
              <th scope="col">{t("audit.column.details")}</th>
              <th scope="col">{t("audit.column.client_address")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.record_id} data-action={r.action} data-subject-id={r.subject_id ?? undefined}>
                <td>{dateTime(r.occurred_at, Intl.DateTimeFormat().resolvedOptions().timeZone)}</td>
                <td>
                  {r.actor_name || r.actor_id}
                  <span className="muted small"> {t(`role.${r.actor_role}`, { defaultValue: r.actor_role })}</span>
                </td>
                <td>{actionLabel(r.action)}</td>
                <td>
                  {subjectLabel(r.subject_type)}
                  {r.subject_id && <span className="muted small"> {r.subject_id}</span>}
                </td>
                <td className="small">{details(r)}</td>
                <td title={r.user_agent ?? undefined}>{r.client_address ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && items.length === 0 && !error && <p className="muted">{t("audit.empty")}</p>}
      {nextBefore !== null && (
        <button type="button" disabled={loading} onClick={() => void load(applied, nextBefore)}>
          {t("audit.older")}
        </button>
      )}
    </section>
  );
}
