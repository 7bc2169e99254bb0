/** The notifications of a client or an appointment: channel, status (and why), when, the text. */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { PatientNotification } from "../api";
import { dateTime } from "../format";

export default function NotificationList({
  load,
  timeZone,
  showRecipient = false,
  reloadKey = 0,
}: {
  load: () => Promise<PatientNotification[]>;
  timeZone: string;
  showRecipient?: boolean;
  reloadKey?: number;
}) {
  const [items, setItems] = useState<PatientNotification[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const { t } = useTranslation();

  const [tick, setTick] = useState(0);

  useEffect(() => {
    load()
      .then((rows) => {
        setItems(rows);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reloadKey, tick]);

  // While something is being sent (queued and due), follow it until it settles.
  const sending = (items ?? []).some((n) => n.status === "queued" && Date.parse(n.at) <= Date.now() + 60_000);
  useEffect(() => {
    if (!sending) return;
    const timer = window.setTimeout(() => setTick((t) => t + 1), 3000);
    return () => window.clearTimeout(timer);
  }, [sending, items]);

  if (error) return <p className="muted small">{t("notifications.unavailable", { error })}</p>;
  if (!items) return <p className="muted small">{t("common.loading")}</p>;
  if (items.length === 0) return <p className="muted">{t("notifications.noneYet")}</p>;
  return (
    <div className="table-wrap">
      <table className="data notifications" data-testid="notifications">
        <thead>
          <tr>
            <th scope="col">{t("notifications.when")}</th>
            <th scope="col">{t("notifications.what")}</th>
            {showRecipient && <th scope="col">{t("notifications.to")}</th>}
            <th scope="col">{t("notifications.channel")}</th>
            <th scope="col">{t("notifications.status")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((n) => (
            <tr key={n.notification_id} data-status={n.status} data-channel={n.channel} data-kind={n.kind}>
              <td>{dateTime(n.at, timeZone)}</td>
              <td>
                {t(`notifications.kind.${n.kind}`)}
                {n.body && (
                  <>
                    {" "}
                    <button
                      type="button"
                      className="link small"
                      aria-expanded={open === n.notification_id}
                      onClick={() => setOpen(open === n.notification_id ? null : n.notification_id)}
                    >
                      {t("notifications.text")}
                    </button>
                    {open === n.notification_id && (
                      <pre className="sent-text">
                        {n.subject ? `${n.subject}\n\n` : ""}
                        {n.body}
                      </pre>
                    )}
                  </>
                )}
              </td>
              {showRecipient && <td>{n.recipient_name}</td>}
              <td>
                {t(`channel.${n.channel}`)}
                {n.address && <span className="muted small"> {n.address}</span>}
              </td>
              <td>
                <span className={`badge badge-${n.status}`}>{t(`notifications.state.${n.status}`)}</span>
                {n.status_reason && <span className="small"> {n.status_reason}</span>}
                {n.attempts > 1 && <span className="muted small"> {t("notifications.attempts", { count: n.attempts })}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
