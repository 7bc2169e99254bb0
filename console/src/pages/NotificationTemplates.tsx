/** Settings › Notifications (admin): per clinic, the reminder's lead time and every message
 * template (event × channel × language), edited with a preview rendered by booking. */
import { useEffect, useMemo, useState } from "react";
import {
  directory,
  notifications,
  type ClinicTemplates,
  type Language,
  type NotificationChannel,
  type NotificationKind,
} from "../api";
import { useDirectory } from "../session";

const KINDS: { value: NotificationKind; label: string }[] = [
  { value: "booked", label: "Booked" },
  { value: "rescheduled", label: "Rescheduled" },
  { value: "cancelled", label: "Cancelled" },
  { value: "reminder", label: "Reminder" },
];
const CHANNELS: { value: NotificationChannel; label: string }[] = [
  { value: "email", label: "Email" },
  { value: "sms", label: "SMS" },
];
const LANGUAGES: { value: Language; label: string }[] = [
  { value: "ru", label: "Russian" },
  { value: "en", label: "English" },
];

export default function NotificationTemplates() {
  const dir = useDirectory();
  const [clinicId, setClinicId] = useState("");
  const [data, setData] = useState<ClinicTemplates | null>(null);
  const [kind, setKind] = useState<NotificationKind>("booked");
  const [channel, setChannel] = useState<NotificationChannel>("email");
  const [language, setLanguage] = useState<Language>("ru");
  const [subject, setSubject] = useState("");
  const [body, setBody] = useState("");
  const [hours, setHours] = useState("24");
  const [preview, setPreview] = useState<{ subject: string; body: string } | null>(null);
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    if (!clinicId && dir.clinics.length) setClinicId(dir.clinics[0].clinic_id);
  }, [dir.clinics, clinicId]);

  useEffect(() => {
    if (!clinicId) return;
    setData(null);
    notifications
      .templates(clinicId)
      .then((t) => {
        setData(t);
        setHours(String(t.reminder_hours_before));
      })
      .catch((e: Error) => setNotice({ ok: false, text: e.message }));
  }, [clinicId]);

  const current = useMemo(
    () => data?.items.find((t) => t.kind === kind && t.channel === channel && t.language === language),
    [data, kind, channel, language],
  );

  // The editor takes the template when another one is chosen (or the clinic's arrive), not
  // when a save or a reset hands back the same one.
  const loaded = data !== null;
  useEffect(() => {
    if (!current) return;
    setSubject(current.subject);
    setBody(current.body);
    setPreview(null);
    setNotice(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [clinicId, kind, channel, language, loaded]);

  const key = { kind, channel, language };

  async function showPreview() {
    try {
      setPreview(await notifications.preview(clinicId, key, { subject, body }));
      setNotice(null);
    } catch (e) {
      setPreview(null);
      setNotice({ ok: false, text: (e as Error).message });
    }
  }

  async function save() {
    try {
      setData(await notifications.saveTemplate(clinicId, key, { subject, body }));
      setNotice({ ok: true, text: "Template saved." });
    } catch (e) {
      setNotice({ ok: false, text: (e as Error).message });
    }
  }

  async function reset() {
    try {
      setData(await notifications.resetTemplate(clinicId, key));
      if (current) {
        setSubject(current.default_subject);
        setBody(current.default_body);
      }
      setPreview(null);
      setNotice({ ok: true, text: "Back to the built-in template." });
    } catch (e) {
      setNotice({ ok: false, text: (e as Error).message });
    }
  }

  async function saveHours() {
    const value = Number(hours);
    if (!/^\d+$/.test(hours.trim()) || value > 336) {
      setNotice({ ok: false, text: "Reminder hours are a whole number from 0 to 336." });
      return;
    }
    try {
      await directory.updateClinic(clinicId, { reminder_hours_before: value });
      setNotice({ ok: true, text: value ? `Reminders go out ${value} h before each visit.` : "No reminders at this clinic." });
    } catch (e) {
      setNotice({ ok: false, text: (e as Error).message });
    }
  }

  return (
    <section className="card template-editor" aria-labelledby="templates-title">
      <h2 id="templates-title">Patient notifications</h2>
      <div className="form-row">
        <label>
          Clinic
          <select value={clinicId} onChange={(e) => setClinicId(e.target.value)}>
            {dir.clinics.map((c) => (
              <option key={c.clinic_id} value={c.clinic_id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Reminder (hours before the visit, 0 = none)
          <span className="inline-form">
            <input value={hours} inputMode="numeric" size={4} onChange={(e) => setHours(e.target.value)} />
            <button type="button" onClick={() => void saveHours()}>
              Save reminder
            </button>
          </span>
        </label>
      </div>
      <div className="form-row">
        <label>
          Event
          <select value={kind} onChange={(e) => setKind(e.target.value as NotificationKind)}>
            {KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Channel
          <select value={channel} onChange={(e) => setChannel(e.target.value as NotificationChannel)}>
            {CHANNELS.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Language
          <select value={language} onChange={(e) => setLanguage(e.target.value as Language)}>
            {LANGUAGES.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted small">
        {current?.customised ? `This clinic's own template (changed by ${current.updated_by ?? "an admin"}).` : "The built-in template."}
      </p>
      {channel === "email" && (
        <label>
          Subject
          <input value={subject} onChange={(e) => setSubject(e.target.value)} />
        </label>
      )}
      <label>
        Text
        <textarea value={body} onChange={(e) => setBody(e.target.value)} spellCheck={false} />
      </label>
      <div className="form-actions">
        <button type="button" onClick={() => void showPreview()}>
          Preview
        </button>
        <button type="button" className="primary" onClick={() => void save()}>
          Save template
        </button>
        {current?.customised && (
          <button type="button" onClick={() => void reset()}>
            Use the built-in template
          </button>
        )}
      </div>
      {notice && (
        <p className={notice.ok ? "notice" : "error"} role={notice.ok ? "status" : "alert"}>
          {notice.text}
        </p>
      )}
      {preview && (
        <div aria-label="Preview" data-testid="template-preview">
          <h3>Preview (a sample appointment at this clinic)</h3>
          <div className="preview">
            {preview.subject && <strong>{preview.subject}</strong>}
            {preview.subject && "\n\n"}
            {preview.body}
          </div>
        </div>
      )}
      {data && (
        <details>
          <summary>Variables a template may use</summary>
          <dl className="variables">
            {Object.entries(data.variables).map(([name, what]) => (
              <div key={name} style={{ display: "contents" }}>
                <dt>{`{{ ${name} }}`}</dt>
                <dd>{what}</dd>
              </div>
            ))}
          </dl>
          <p className="muted small">
            Jinja2 in its sandbox: <code>{"{% if attendee_notes %}…{% endif %}"}</code> works; private notes are never
            available. Every email gets the unsubscribe link even if the text leaves it out.
          </p>
        </details>
      )}
    </section>
  );
}
