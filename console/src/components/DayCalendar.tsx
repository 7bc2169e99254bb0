/** The booking day calendar: the clinic's practitioners' appointments by hour, free slots to
 * pick, other call centers' appointments greyed out. */
import { useTranslation } from "react-i18next";
import { type Appointment, type Availability } from "../api";
import { calendarDay, minutesOfDay, time, zoneLabel } from "../format";

export interface ChosenSlot {
  starts_at: string;
  practitioner_id: string | null;
}

export function SlotGrid({
  availability,
  date,
  loading = false,
  anyone,
  chosen,
  onChoose,
  practitionerName,
}: {
  availability: Availability | null;
  /** The day on screen: times of another day (an answer still on its way) are never offered. */
  date: string;
  /** An answer for newer choices is on its way: the one held is not offered meanwhile. */
  loading?: boolean;
  anyone: boolean;
  chosen: ChosenSlot | null;
  onChoose: (slot: ChosenSlot) => void;
  practitionerName: (id: string) => string;
}) {
  const { t } = useTranslation();
  if (!availability) return <p className="muted">{t("booking.chooseToSeeTimes")}</p>;
  if (loading || availability.date !== date) return <p className="muted">{t("common.loading")}</p>;
  const tz = availability.time_zone;
  const slots = anyone
    ? availability.anyone_available.map((s) => ({ starts_at: s.starts_at, practitioner_id: null, who: s.practitioner_ids }))
    : availability.slots.map((s) => ({ starts_at: s.starts_at, practitioner_id: s.practitioner_id, who: [s.practitioner_id] }));
  if (slots.length === 0) return <p className="muted">{t("booking.noFreeTimes")}</p>;
  return (
    <div className="slots" role="listbox" aria-label={t("booking.freeTimesIn", { zone: zoneLabel(tz) })}>
      {slots.map((s) => {
        const selected = chosen?.starts_at === s.starts_at && chosen?.practitioner_id === s.practitioner_id;
        return (
          <button
            type="button"
            role="option"
            aria-selected={selected}
            key={`${s.starts_at}-${s.practitioner_id ?? "any"}`}
            className={`slot${selected ? " selected" : ""}`}
            title={s.who.map(practitionerName).join(", ")}
            data-starts-at={s.starts_at}
            onClick={() => onChoose({ starts_at: s.starts_at, practitioner_id: s.practitioner_id })}
          >
            {time(s.starts_at, tz)}
          </button>
        );
      })}
    </div>
  );
}

export function DayCalendar({
  items,
  date,
  timeZone,
  practitioners,
  onReschedule,
  onCancel,
  onNotifications,
}: {
  items: Appointment[];
  date: string;
  timeZone: string;
  practitioners: { id: string; name: string }[];
  onReschedule: (a: Appointment) => void;
  onCancel: (a: Appointment) => void;
  onNotifications: (a: Appointment) => void;
}) {
  const startHour = 8;
  const endHour = 20;
  const pxPerMinute = 1.6;
  const height = (endHour - startHour) * 60 * pxPerMinute;
  const { t } = useTranslation();
  const columns = practitioners.length ? practitioners : [{ id: "", name: "" }];
  return (
    <div
      className="calendar"
      aria-label={t("booking.calendarLabel", { day: calendarDay(date), zone: zoneLabel(timeZone) })}
    >
      <div className="cal-grid" style={{ gridTemplateColumns: `3.2rem repeat(${columns.length}, minmax(9rem, 1fr))` }}>
        <div className="cal-corner" />
        {columns.map((p) => (
          <div className="cal-col-head" key={p.id}>
            {p.name}
          </div>
        ))}
        <div className="cal-hours" style={{ height }}>
          {Array.from({ length: endHour - startHour }, (_, i) => (
            <div key={i} className="cal-hour" style={{ top: i * 60 * pxPerMinute }}>
              {String(startHour + i).padStart(2, "0")}:00
            </div>
          ))}
        </div>
        {columns.map((p) => (
          <ul className="cal-col" key={p.id} style={{ height }} aria-label={p.name || t("booking.appointments")}>
            {items
              .filter((a) => !p.id || a.practitioner_id === p.id)
              .map((a) => {
                const top = (minutesOfDay(a.starts_at, timeZone) - startHour * 60) * pxPerMinute;
                const len = Math.max(24, (Date.parse(a.ends_at) - Date.parse(a.starts_at)) / 60000) * pxPerMinute;
                return (
                  <li
                    key={a.appointment_id}
                    className={`appt${a.editable ? "" : " appt-foreign"}`}
                    style={{ top: Math.max(0, top), height: len }}
                    aria-disabled={!a.editable}
                    data-appointment-id={a.appointment_id}
                    data-editable={a.editable}
                  >
                    <div className="appt-time">
                      {time(a.starts_at, timeZone)}–{time(a.ends_at, timeZone)}
                    </div>
                    <div className="appt-title">
                      {a.client_name} · {a.service_name}
                    </div>
                    <div className="appt-owner small">
                      {a.call_center_name ?? "—"}
                      {!a.editable && ` · ${t("booking.readOnly")}`}
                    </div>
                    <div className="appt-actions">
                      <button type="button" className="small" onClick={() => onNotifications(a)}>
                        {t("booking.notifications")}
                      </button>
                    </div>
                    {a.editable && (
                      <div className="appt-actions">
                        <button type="button" className="small" onClick={() => onReschedule(a)}>
                          {t("booking.reschedule")}
                        </button>
                        <button type="button" className="small danger" onClick={() => onCancel(a)}>
                          {t("common.cancel")}
                        </button>
                      </div>
                    )}
                  </li>
                );
              })}
          </ul>
        ))}
      </div>
    </div>
  );
}
