/** The current-call panel: the caller's card beside every page while the operator is on a
 * call they answered or took, then through its wrap-up until the result is set or dismissed. */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import {
  clients,
  crm,
  touches,
  type ClientProfile,
  type TimelineEntry,
  type Touch,
  type TouchResult,
  type TouchStatus,
} from "../api";
import { dateTime, duration, phone as formatPhone } from "../format";
import { useNotify, type ShownCurrentCall } from "../notify";
import { can, useDirectory, usePrincipal } from "../session";

const STATUSES: TouchStatus[] = ["new", "in_progress", "done"];

const RESULTS: TouchResult[] = ["booked", "information", "complaint", "no_answer", "other"];

/** How many appointments and timeline entries the panel lists (the card has the rest). */
const LIST_MAX = 3;
const TIMELINE_MAX = 5;

function Elapsed({ since }: { since: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  return <span className="popup-timer">{duration(Math.max(0, Math.floor((now - Date.parse(since)) / 1000)))}</span>;
}

function bookingLink(call: ShownCurrentCall, touch: Touch | null): string {
  const params = new URLSearchParams({ call_id: call.call_id });
  const contact = call.contact;
  if (contact?.client_id) params.set("client_id", contact.client_id);
  else if (call.caller_e164) params.set("phone", call.caller_e164);
  if (call.clinic_id) params.set("clinic_id", call.clinic_id);
  if (touch) params.set("touch_id", touch.touch_id);
  return `/booking?${params.toString()}`;
}

function TouchEditor({ touch, onSaved }: { touch: Touch; onSaved: (t: Touch) => void }) {
  const principal = usePrincipal();
  const { t } = useTranslation();
  const [status, setStatus] = useState<TouchStatus>(touch.status);
  const [result, setResult] = useState<TouchResult | "">(touch.result ?? "");
  const [notes, setNotes] = useState(touch.notes);
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const editable = can.book(principal.role);
  const changed = status !== touch.status || (result || null) !== touch.result || notes !== touch.notes;

  const save = async () => {
    setSaving(true);
    setMessage(null);
    try {
      const saved = await touches.update(touch.touch_id, { status, result: result || null, notes });
      onSaved(saved);
      setMessage(t("currentCall.saved"));
    } catch (e) {
      setMessage(e instanceof Error ? e.message : t("currentCall.saveFailed"));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form
      className="current-touch"
      aria-label={t("currentCall.touch")}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <div className="current-touch-row">
        <label>
          {t("currentCall.status")}
          <select value={status} disabled={!editable} onChange={(e) => setStatus(e.target.value as TouchStatus)}>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {t(`touch.status.${value}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("currentCall.result")}
          <select value={result} disabled={!editable} onChange={(e) => setResult(e.target.value as TouchResult | "")}>
            <option value="">{t("currentCall.notSet")}</option>
            {RESULTS.map((value) => (
              <option key={value} value={value}>
                {t(`touch.result.${value}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label>
        {t("currentCall.notes")}
        <textarea value={notes} rows={2} maxLength={4000} disabled={!editable} onChange={(e) => setNotes(e.target.value)} />
      </label>
      {editable && (
        <div className="current-touch-row">
          <button type="submit" disabled={saving || !changed}>
            {saving ? t("currentCall.saving") : t("currentCall.save")}
          </button>
          {message && (
            <span className="muted small" role="status" data-testid="touch-message">
              {message}
            </span>
          )}
        </div>
      )}
    </form>
  );
}

function CallerCard({ call }: { call: ShownCurrentCall }) {
  const { t, i18n } = useTranslation();
  const contact = call.contact;
  const clientId = contact?.client_id ?? null;
  const contactId = contact?.contact_id ?? null;
  const [profile, setProfile] = useState<ClientProfile | null>(null);
  const [phones, setPhones] = useState<string[]>([]);
  const [timeline, setTimeline] = useState<TimelineEntry[] | null>(null);
  const [note, setNote] = useState<"currentCall.cardUnavailable" | "currentCall.contactUnavailable" | null>(null);
  // Timeline entries without a zone of their own are shown in the chain's, as on the card.
  const chainZone = useDirectory().clinics[0]?.time_zone ?? "UTC";

  // The card is read once per caller (every read is on the audit trail), not again when
  // the call's state or the language changes. An answer about an earlier caller (the next
  // call came in while it was read) is dropped.
  useEffect(() => {
    let live = true;
    setProfile(null);
    setPhones([]);
    setNote(null);
    if (clientId) {
      clients
        .get(clientId)
        .then((p) => {
          if (!live) return;
          setProfile(p);
          setPhones([p.mobile, ...p.phones].filter((n): n is string => Boolean(n)));
        })
        .catch(() => live && setNote("currentCall.cardUnavailable"));
    } else if (contactId) {
      crm
        .contact(contactId)
        .then((c) => live && setPhones(c.phones))
        .catch(() => live && setNote("currentCall.contactUnavailable"));
    }
    return () => {
      live = false;
    };
  }, [clientId, contactId]);

  useEffect(() => {
    let live = true;
    setTimeline(null);
    if (!contactId) return;
    crm
      .timeline(contactId, chainZone)
      .then((entries) => live && setTimeline(entries))
      .catch(() => live && setTimeline([]));
    return () => {
      live = false;
    };
    // The timeline is worded as it is read, and gains this call when it ends: read it again
    // in a newly chosen language and at each change of the call's state.
  }, [contactId, call.state, chainZone, i18n.language]);

  const shownPhones = phones.length ? phones : call.caller_e164 ? [call.caller_e164] : [];
  return (
    <div className="current-card">
      {note && <p className="muted small">{t(note)}</p>}
      {shownPhones.length > 0 && (
        <div className="current-phones" data-testid="current-phones">
          {[...new Set(shownPhones)].map((n) => formatPhone(n) || n).join(", ")}
        </div>
      )}
      {profile && (
        <>
          <h3>{t("currentCall.upcoming")}</h3>
          <ul className="plain" data-testid="current-upcoming">
            {profile.upcoming.length === 0 && <li className="muted">{t("common.none")}</li>}
            {profile.upcoming.slice(0, LIST_MAX).map((a) => (
              <li key={a.appointment_id}>
                <strong>{dateTime(a.starts_at, a.time_zone)}</strong> {a.service_name} · {a.practitioner_name} ·{" "}
                {a.clinic_name}
              </li>
            ))}
          </ul>
          <h3>{t("currentCall.past")}</h3>
          <ul className="plain" data-testid="current-past">
            {profile.past.length === 0 && <li className="muted">{t("common.none")}</li>}
            {profile.past.slice(0, LIST_MAX).map((a) => (
              <li key={a.appointment_id}>
                {dateTime(a.starts_at, a.time_zone)} {a.service_name} · {a.practitioner_name}
              </li>
            ))}
          </ul>
        </>
      )}
      {timeline && (
        <>
          <h3>{t("timeline.title")}</h3>
          <ol className="timeline" data-testid="current-timeline">
            {timeline.length === 0 && <li className="muted">{t("timeline.nothingYet")}</li>}
            {timeline.slice(0, TIMELINE_MAX).map((entry, i) => (
              <li key={i} className={`tl tl-${entry.kind}`}>
                <span className="tl-at">{entry.at ? dateTime(entry.at, entry.time_zone ?? chainZone) : ""}</span>
                <span className="tl-title">{entry.title}</span>
                <span className="muted small">{entry.detail}</span>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

export default function CurrentCallPanel() {
  const { t } = useTranslation();
  const { current: call, dismissWrapUp, closeCurrent } = useNotify();
  const navigate = useNavigate();
  const principal = usePrincipal();
  const [touch, setTouch] = useState<Touch | null | undefined>(undefined);
  const callId = call?.call_id ?? null;
  const state = call?.state ?? null;

  useEffect(() => {
    document.body.classList.toggle("has-current-call", callId !== null);
    return () => document.body.classList.remove("has-current-call");
  }, [callId]);

  useEffect(() => {
    let live = true;
    setTouch(undefined);
    if (!callId) return;
    touches
      .ofCall(callId)
      .then((touch) => live && setTouch(touch))
      .catch(() => live && setTouch(null));
    return () => {
      live = false;
    };
  }, [callId, state]);

  if (!call) return null;
  const contact = call.contact;
  const number = formatPhone(call.caller_e164 ?? call.caller) || call.caller;
  const label = call.finished
    ? t("currentCall.finished")
    : call.state === "wrap_up"
      ? t("currentCall.wrapUp")
      : t("currentCall.onCall");
  return (
    <aside
      className={`current-call current-${call.finished ? "finished" : call.state}`}
      aria-labelledby="current-call-title"
      data-testid="current-call"
      data-call-id={call.call_id}
      data-state={call.finished ? "finished" : call.state}
    >
      <header className="popup-head">
        <span className="popup-pulse" aria-hidden="true" />
        <span className="popup-label" data-testid="current-call-state">
          {label}
        </span>
        {call.state === "on_call" && call.answered_at && <Elapsed since={call.answered_at} />}
        {call.state === "wrap_up" && call.talk_seconds !== null && (
          <span className="popup-timer">{t("currentCall.talked", { duration: duration(call.talk_seconds) })}</span>
        )}
      </header>
      <h2 id="current-call-title" className="popup-title">
        {contact?.display_name ?? number}
        {contact && (
          <span className={`badge badge-${contact.kind}`}>
            {contact.kind === "lead" ? t("contact.lead") : t("contact.patient")}
          </span>
        )}
      </h2>
      {!contact && (
        <div className="muted">
          {call.identification === "pending" ? t("popup.identifying") : t("popup.unknownNumber")}
        </div>
      )}
      {contact?.client_id && (
        <Link to={`/clients/${encodeURIComponent(contact.client_id)}`} className="small">
          {t("currentCall.openCard")}
        </Link>
      )}
      <CallerCard call={call} />
      {touch === null && <p className="muted small">{t("currentCall.noTouch")}</p>}
      {touch && <TouchEditor key={touch.touch_id} touch={touch} onSaved={setTouch} />}
      <div className="popup-actions">
        {can.book(principal.role) && (
          <button type="button" onClick={() => navigate(bookingLink(call, touch ?? null))}>
            {t("currentCall.book")}
          </button>
        )}
        {can.editClients(principal.role) && contact?.kind !== "patient" && call.caller_e164 && (
          <button type="button" onClick={() => navigate(`/clients/new?phone=${encodeURIComponent(call.caller_e164 ?? "")}`)}>
            {t("currentCall.newClient")}
          </button>
        )}
        {call.state === "wrap_up" && !call.finished && (
          <button type="button" onClick={() => dismissWrapUp(call.call_id)}>
            {t("currentCall.dismiss")}
          </button>
        )}
        {call.finished && (
          <button type="button" onClick={closeCurrent}>
            {t("currentCall.close")}
          </button>
        )}
      </div>
    </aside>
  );
}
