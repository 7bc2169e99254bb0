/** A lead (an unknown caller crm-touch keeps by number): details, calls, and turning it into a booking. */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, Navigate, useParams } from "react-router-dom";
import { crm, type ContactView, type TimelineEntry } from "../api";
import { dateTime, phone } from "../format";
import { can, useDirectory, usePrincipal } from "../session";

export default function LeadPage() {
  const { contactId = "" } = useParams();
  const principal = usePrincipal();
  const { t, i18n } = useTranslation();
  const zone = useDirectory().clinics[0]?.time_zone ?? "UTC";
  const [contact, setContact] = useState<ContactView | null>(null);
  const [timeline, setTimeline] = useState<TimelineEntry[]>([]);
  const [error, setError] = useState<string | null>(null);

  // The card is read once per lead shown: each read is a view on the audit trail.
  useEffect(() => {
    crm
      .contact(contactId)
      .then(setContact)
      .catch((e: Error) => setError(e.message));
  }, [contactId]);

  useEffect(() => {
    crm
      .timeline(contactId, zone)
      .then(setTimeline)
      .catch(() => setTimeline([]));
    // The timeline is worded as it is read: read it again in a newly chosen language.
  }, [contactId, zone, i18n.language]);

  if (error) {
    return (
      <div className="page">
        <p className="error" role="alert">
          {error}
        </p>
      </div>
    );
  }
  if (!contact) return <div className="page">{t("common.loading")}</div>;
  // A lead that booked became a client: show the client instead.
  if (contact.merged_into) return <Navigate to={`/clients/${encodeURIComponent(contact.merged_into)}`} replace />;
  const number = contact.phones[0] ?? "";
  return (
    <div className="page">
      <div className="page-head">
        <h1>
          {contact.display_name} <span className="badge badge-lead">{t("contact.lead")}</span>
        </h1>
        {can.book(principal.role) && (
          <div className="actions">
            <Link className="button primary" to={`/booking?phone=${encodeURIComponent(number)}`}>
              {t("common.bookAppointment")}
            </Link>
            <Link className="button" to={`/clients/new?phone=${encodeURIComponent(number)}`}>
              {t("lead.register")}
            </Link>
          </div>
        )}
      </div>
      <section className="card">
        <dl className="facts">
          <dt>{t("lead.numbers")}</dt>
          <dd>{contact.phones.map(phone).join(", ") || "—"}</dd>
          <dt>{t("lead.status")}</dt>
          <dd>{contact.status || "—"}</dd>
        </dl>
      </section>
      <section className="card" aria-labelledby="lead-timeline">
        <h2 id="lead-timeline">{t("timeline.title")}</h2>
        <ol className="timeline">
          {timeline.map((entry, i) => (
            <li key={i} className={`tl tl-${entry.kind}`}>
              <span className="tl-at">{dateTime(entry.at, zone)}</span>
              <span className="tl-kind">{entry.kind === "touch" ? t("timeline.call") : t("timeline.appointment")}</span>
              <span className="tl-title">{entry.title}</span>
              <span className="muted small">{entry.detail}</span>
            </li>
          ))}
          {timeline.length === 0 && <li className="muted">{t("timeline.nothingYet")}</li>}
        </ol>
      </section>
    </div>
  );
}
