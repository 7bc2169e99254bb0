/** Incoming-call pop-ups, shown over every page of the console. */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import type { Contact } from "../api";
import { duration, phone as formatPhone, zoneLabel } from "../format";
import { useNotify, type OpenPopup } from "../notify";
import { can, useDirectory, usePrincipal } from "../session";

function bookingLink(popup: OpenPopup, contact: Contact | null | undefined): string {
  const params = new URLSearchParams({ call_id: popup.call_id });
  if (contact?.client_id) params.set("client_id", contact.client_id);
  else if (popup.caller_e164 || popup.caller) params.set("phone", String(popup.caller_e164 || popup.caller));
  if (popup.clinic_id) params.set("clinic_id", popup.clinic_id);
  if (popup.touch_id) params.set("touch_id", popup.touch_id);
  return `/booking?${params.toString()}`;
}

function contactLink(popup: OpenPopup, contact: Contact | null | undefined): string {
  if (contact?.client_id) return `/clients/${encodeURIComponent(contact.client_id)}`;
  if (contact?.kind === "lead") return `/leads/${encodeURIComponent(contact.contact_id)}`;
  return `/clients?q=${encodeURIComponent(String(popup.caller_e164 || popup.caller))}`;
}

function detailsText(contact: Contact): string {
  const d = contact.details;
  if (!d) return "";
  if (typeof d === "string") return d;
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([, v]) => String(v))
    .join(" · ");
}

function RingTimer({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  const s = Math.max(0, Math.floor((now - since) / 1000));
  return <span className="popup-timer">{duration(s)}</span>;
}

function PopupCard({ popup }: { popup: OpenPopup }) {
  const { take, dismiss } = useNotify();
  const navigate = useNavigate();
  const principal = usePrincipal();
  const dir = useDirectory();
  const { t } = useTranslation();
  const clinic = dir.clinic(popup.clinic_id);
  const clinicName = popup.clinic_name ?? clinic?.name ?? popup.clinic_id ?? "";
  const contact = popup.contact;
  const number = formatPhone(popup.caller_e164 ?? popup.caller) || popup.caller;
  const title = contact?.display_name ?? number;
  const by = popup.closed?.handled_by;
  const closedText = !popup.closed
    ? null
    : popup.closed.reason === "ended" || popup.closed.reason === "missed"
      ? t("popup.endedUnanswered")
      : popup.closed.reason === "taken"
        ? by
          ? t("popup.takenBy", { name: by })
          : t("popup.taken")
        : popup.closed.reason === "unassigned"
          ? t("popup.unassigned")
          : by
            ? t("popup.answeredBy", { name: by })
            : t("popup.answered");

  return (
    <section
      className={`popup${popup.closed ? " popup-closed" : ""}`}
      role="alertdialog"
      aria-labelledby={`popup-title-${popup.call_id}`}
      aria-describedby={`popup-desc-${popup.call_id}`}
      data-call-id={popup.call_id}
      data-testid="call-popup"
    >
      <header className="popup-head">
        <span className="popup-pulse" aria-hidden="true" />
        <span className="popup-label">{t("popup.incomingCall")}</span>
        {!popup.closed && <RingTimer since={popup.receivedAt} />}
        <button
          type="button"
          className="icon-button popup-dismiss"
          aria-label={t("popup.hide")}
          onClick={() => dismiss(popup.call_id)}
        >
          ×
        </button>
      </header>
      <h2 id={`popup-title-${popup.call_id}`} className="popup-title">
        {title}
        {contact && <span className={`badge badge-${contact.kind}`}>{contact.kind === "lead" ? t("contact.lead") : t("contact.patient")}</span>}
      </h2>
      <div id={`popup-desc-${popup.call_id}`} className="popup-body">
        {contact && <div className="popup-number">{number}</div>}
        {contact && detailsText(contact) && <div className="popup-details">{detailsText(contact)}</div>}
        {!contact && popup.candidates.length === 0 && (
          <div className="muted">{popup.identification === "pending" ? t("popup.identifying") : t("popup.unknownNumber")}</div>
        )}
        {popup.candidates.length > 1 && (
          <div className="popup-candidates">
            <div className="muted">{t("popup.severalContacts")}</div>
            <ul>
              {popup.candidates.map((c) => (
                <li key={c.contact_id}>
                  <button type="button" className="link" onClick={() => navigate(contactLink(popup, c))}>
                    {c.display_name}
                  </button>{" "}
                  <button type="button" className="link" onClick={() => navigate(bookingLink(popup, c))}>
                    {t("popup.book")}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
        <div className="popup-meta">
          {clinicName && <span>{clinicName}{clinic ? ` (${zoneLabel(clinic.time_zone)})` : ""}</span>}
          {popup.extension && <span>{t("common.ext", { extension: popup.extension })}</span>}
        </div>
      </div>
      {closedText ? (
        <div className="popup-status" role="status">
          {closedText}
        </div>
      ) : (
        <div className="popup-actions">
          {can.takeCalls(principal.role) && (
            <button
              type="button"
              className="primary"
              disabled={popup.taking}
              onClick={() => take(popup.call_id)}
            >
              {popup.taking ? t("popup.taking") : t("popup.take")}
            </button>
          )}
          <button type="button" onClick={() => navigate(contactLink(popup, contact))}>
            {contact ? t("popup.openContact") : t("popup.findContact")}
          </button>
          {can.book(principal.role) && (
            <button type="button" onClick={() => navigate(bookingLink(popup, contact))}>
              {t("common.bookAppointment")}
            </button>
          )}
        </div>
      )}
    </section>
  );
}

export default function PopupOverlay() {
  const { popups } = useNotify();
  const { t } = useTranslation();
  return (
    <div className="popup-stack" aria-live="assertive" aria-label={t("popup.incomingCalls")}>
      {popups.map((p) => (
        <PopupCard key={p.call_id} popup={p} />
      ))}
    </div>
  );
}
