/** Booked appointments that time off (an absence, a closed day) or changed hours leave
 * stranded. Nothing moves them by itself: an operator agrees a new time with the client and
 * reschedules from here (the Booking page opens the appointment's Reschedule dialog). */
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { timeOff, type ToReschedule } from "../api";
import { dateIn, dateTime } from "../format";
import { useDirectory } from "../session";
import { useLoad } from "../useLoad";
import Notice from "./Notice";

/** Where Reschedule goes: the Booking page on the appointment's clinic and day, dialog open. */
export function rescheduleLink(item: ToReschedule, timeZone: string): string {
  const params = new URLSearchParams({
    clinic_id: item.clinic_id,
    date: dateIn(item.starts_at, timeZone),
    reschedule: item.appointment_id,
  });
  return `/booking?${params.toString()}`;
}

export default function ToRescheduleList({
  clinicId,
  practitionerId,
  version = 0,
  title,
}: {
  clinicId?: string;
  practitionerId?: string;
  /** Bumped by the page when something may have changed the list. */
  version?: number;
  title?: string;
}) {
  const { t } = useTranslation();
  const dir = useDirectory();
  const { data: items, error } = useLoad(
    () => timeOff.toReschedule({ clinic_id: clinicId, practitioner_id: practitionerId }),
    [clinicId, practitionerId, version],
  );

  return (
    <section className="to-reschedule" aria-labelledby="to-reschedule-title" data-testid="to-reschedule">
      <h2 id="to-reschedule-title" className="h3">
        {title ?? t("toReschedule.title")}
        {items && items.length > 0 && <span className="badge">{items.length}</span>}
      </h2>
      <Notice error={error} />
      {items && items.length === 0 && <p className="muted small">{t("toReschedule.none")}</p>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">{t("toReschedule.when")}</th>
                <th scope="col">{t("toReschedule.client")}</th>
                <th scope="col">{t("toReschedule.practitioner")}</th>
                <th scope="col">{t("toReschedule.clinic")}</th>
                <th scope="col">{t("toReschedule.why")}</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {items.map((item) => {
                const tz = dir.clinic(item.clinic_id)?.time_zone ?? "UTC";
                return (
                  <tr key={item.appointment_id} data-appointment-id={item.appointment_id}>
                    <td>{dateTime(item.starts_at, tz)}</td>
                    <th scope="row">{item.client_name}</th>
                    <td>{item.practitioner_name}</td>
                    <td>{item.clinic_name}</td>
                    <td>
                      {t(`toReschedule.reason.${item.reason}`)}
                      {item.note && <div className="muted small">{item.note}</div>}
                    </td>
                    <td>
                      <Link className="button small" to={rescheduleLink(item, tz)}>
                        {t("booking.reschedule")}
                      </Link>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
