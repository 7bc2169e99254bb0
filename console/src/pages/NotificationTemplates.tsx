/** Settings › Notifications (admin): per clinic, the reminder's lead time and every message
 * template (event × channel × language), edited with a preview rendered by booking. */
import { useEffect, useMemo, useState } from "react";
import { Trans, useTranslation } from "react-i18next";
import {
  directory,
  notifications,
  type ClinicTemplates,
  type Language,
  type NotificationChannel,
  type NotificationKind,
} from "../api";
import { languageName } from "../format";
import { useDirectory } from "../session";

const KINDS: NotificationKind[] = ["booked", "rescheduled", "cancelled", "reminder"];
const CHANNELS: NotificationChannel[] = ["email", "sms"];
const LANGUAGES: Language[] = ["ru", "en"];

export default function NotificationTemplates() {
  const dir = useDirectory();
  const { t } = useTranslation();
  // The admin's choice, else the directory's first clinic: derived rather than set by an
  // effect, so a choice made the instant the options appear is never overwritten.
  const [clinicChoice, setClinicId] = useState("");
  const clinicId = clinicChoice || dir.clinics[0]?.clinic_id || "";
  const [data, setData] = useState<ClinicTemplates | null>(null);
  const [kind, setKind] = useState<NotificationKind>("booked");
  const [channel, setChannel] = useState<NotificationChannel>("email");
  const [language, setLanguage] = useState<Language>("ru");
  const [subject, setSubject] = useState("");
  const [body, setBody] = useState("");
  const [hours, setHours] = useState("24");
  const [preview, setPreview] = useState<{ subject: string; body: string } | null>(null);
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);

  // A clinic's templates; an answer for a clinic no longer chosen is dropped.
  useEffect(() => {
    if (!clinicId) return;
    let live = true;
    setData(null);
    notifications
      .templates(clinicId)
      .then((t) => {
        if (!live) return;
        setData(t);
        setHours(String(t.reminder_hours_before));
      })
      .catch((e: Error) => live && setNotice({ ok: false, text: e.message }));
    return () => {
      live = false;
    };
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
      setNotice({ ok: true, text: t("templates.saved") });
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
      setNotice({ ok: true, text: t("templates.reset") });
    } catch (e) {
      setNotice({ ok: false, text: (e as Error).message });
    }
  }

  async function saveHours() {
    const value = Number(hours);
    if (!/^\d+$/.test(hours.trim()) || value > 336) {
      setNotice({ ok: false, text: t("templates.hoursInvalid") });
      return;
    }
    try {
      await directory.updateClinic(clinicId, { reminder_hours_before: value });
      setNotice({ ok: true, text: value ? t("templates.remindersAt", { count: value }) : t("templates.noReminders") });
    } catch (e) {
      setNotice({ ok: false, text: (e as Error).message });
    }
  }

  return (
    <section className="card template-editor" aria-labelledby="templates-title">
      <h2 id="templates-title">{t("templates.title")}</h2>
      <div className="form-row">
        <label>
          {t("templates.clinic")}
          <select value={clinicId} onChange={(e) => setClinicId(e.target.value)}>
            {dir.clinics.map((c) => (
              <option key={c.clinic_id} value={c.clinic_id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("templates.reminderHours")}
          <span className="inline-form">
            <input value={hours} inputMode="numeric" size={4} onChange={(e) => setHours(e.target.value)} />
            <button type="button" onClick={() => void saveHours()}>
              {t("templates.saveReminder")}
            </button>
          </span>
        </label>
      </div>
      <div className="form-row">
        <label>
          {t("templates.event")}
          <select value={kind} onChange={(e) => setKind(e.target.value as NotificationKind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`templates.kind.${k}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("notifications.channel")}
          <select value={channel} onChange={(e) => setChannel(e.target.value as NotificationChannel)}>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {t(`channel.${c}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("templates.language")}
          <select value={language} onChange={(e) => setLanguage(e.target.value as Language)}>
            {LANGUAGES.map((l) => (
              <option key={l} value={l}>
                {languageName(l)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted small">
        {current?.customised
          ? current.updated_by
            ? t("templates.customisedBy", { name: current.updated_by })
            : t("templates.customised")
          : t("templates.builtIn")}
      </p>
      {channel === "email" && (
        <label>
          {t("templates.subject")}
          <input value={subject} onChange={(e) => setSubject(e.target.value)} />
        </label>
      )}
      <label>
        {t("templates.text")}
        <textarea value={body} onChange={(e) => setBody(e.target.value)} spellCheck={false} />
      </label>
      <div className="form-actions">
        <button type="button" onClick={() => void showPreview()}>
          {t("templates.preview")}
        </button>
        <button type="button" className="primary" onClick={() => void save()}>
          {t("templates.save")}
        </button>
        {current?.customised && (
          <button type="button" onClick={() => void reset()}>
            {t("templates.useBuiltIn")}
          </button>
        )}
      </div>
      {notice && (
        <p className={notice.ok ? "notice" : "error"} role={notice.ok ? "status" : "alert"}>
          {notice.text}
        </p>
      )}
      {preview && (
        <div aria-label={t("templates.preview")} data-testid="template-preview">
          <h3>{t("templates.previewTitle")}</h3>
          <div className="preview">
            {preview.subject && <strong>{preview.subject}</strong>}
            {preview.subject && "\n\n"}
            {preview.body}
          </div>
        </div>
      )}
      {data && (
        <details>
          <summary>{t("templates.variables")}</summary>
          <dl className="variables">
            {Object.entries(data.variables).map(([name, what]) => (
              <div key={name} style={{ display: "contents" }}>
                <dt>{`{{ ${name} }}`}</dt>
                <dd>{what}</dd>
              </div>
            ))}
          </dl>
          <p className="muted small">
            <Trans i18nKey="templates.sandbox" components={{ code: <code /> }} values={{ example: "{% if attendee_notes %}…{% endif %}" }} />
          </p>
        </details>
      )}
    </section>
  );
}
