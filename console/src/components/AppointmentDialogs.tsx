/** The dialogs of a booked appointment: its notifications, reschedule, cancel. */
import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import {
  appointments,
  slotHolder,
  type Appointment,
  type Availability,
  notifications,
} from "../api";
import { type ChosenSlot, SlotGrid } from "./DayCalendar";
import Dialog from "./Dialog";
import NotificationList from "./NotificationList";
import Notice from "./Notice";
import { dateIn, dateTime, day as dayLabel, time, todayIn } from "../format";
import { useDirectory } from "../session";

export function NotificationsDialog({ appointment, onClose }: { appointment: Appointment | null; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog title={t("booking.notifications")} open={appointment !== null} onClose={onClose}>
      {appointment && (
        <>
          <p className="muted small">
            {appointment.client_name} · {appointment.service_name} · {dateTime(appointment.starts_at, appointment.time_zone)}
          </p>
          <NotificationList
            load={() => notifications.forAppointment(appointment.appointment_id)}
            timeZone={appointment.time_zone}
            showRecipient
          />
        </>
      )}
    </Dialog>
  );
}

export function RescheduleDialog({
  appointment,
  onClose,
  onDone,
}: {
  appointment: Appointment | null;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const tz = appointment?.time_zone ?? "UTC";
  const [date, setDate] = useState("");
  const [availability, setAvailability] = useState<Availability | null>(null);
  const [chosen, setChosen] = useState<ChosenSlot | null>(null);
  const [error, setError] = useState<string | null>(null);
  const dir = useDirectory();
  const { t } = useTranslation();

  useEffect(() => {
    if (appointment) {
      const current = dateIn(appointment.starts_at, tz);
      const today = todayIn(tz);
      setDate(current < today ? today : current);
      setChosen(null);
      setError(null);
    }
  }, [appointment, tz]);

  useEffect(() => {
    if (!appointment || !date) return;
    let live = true;
    setChosen(null);
    setAvailability(null);
    appointments
      .availability({
        clinic_id: appointment.clinic_id,
        service_id: appointment.service_id,
        date,
        practitioner_id: appointment.practitioner_id,
      })
      .then((a) => live && setAvailability(a))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [appointment, date]);

  async function confirm() {
    if (!appointment || !chosen) return;
    try {
      await appointments.reschedule(appointment.appointment_id, chosen.starts_at);
      onDone(t("booking.movedTo", { day: dayLabel(chosen.starts_at, tz), time: time(chosen.starts_at, tz) }));
    } catch (e) {
      const holder = slotHolder(e);
      setError(holder ? t("booking.alreadyBooked", { holder }) : (e as Error).message);
    }
  }

  return (
    <Dialog title={t("booking.rescheduleTitle")} open={appointment !== null} onClose={onClose}>
      {appointment && (
        <div className="dialog-body">
          <p>
            {t("booking.rescheduleWhat", {
              client: appointment.client_name,
              service: appointment.service_name,
              practitioner: appointment.practitioner_name,
              day: dayLabel(appointment.starts_at, tz),
              time: time(appointment.starts_at, tz),
            })}
          </p>
          <label className="inline">
            {t("booking.newDay")}
            <input type="date" value={date} onChange={(e) => setDate(e.target.value)} />
          </label>
          <SlotGrid
            availability={availability}
            date={date}
            anyone={false}
            chosen={chosen}
            onChoose={setChosen}
            practitionerName={dir.practitionerName}
          />
          <Notice error={error} />
          <div className="dialog-actions">
            <button type="button" onClick={onClose}>
              {t("booking.keepAsIs")}
            </button>
            <button type="button" className="primary" disabled={!chosen} onClick={() => void confirm()}>
              {t("booking.moveAppointment")}
            </button>
          </div>
        </div>
      )}
    </Dialog>
  );
}

export function CancelDialog({
  appointment,
  onClose,
  onDone,
}: {
  appointment: Appointment | null;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const dir = useDirectory();
  const [reason, setReason] = useState("");
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | null>(null);
  const { t } = useTranslation();
  useEffect(() => {
    setReason("");
    setNote("");
    setError(null);
  }, [appointment]);

  async function confirm(event: FormEvent) {
    event.preventDefault();
    if (!appointment) return;
    if (!reason) {
      setError(t("booking.chooseReason"));
      return;
    }
    try {
      await appointments.cancel(appointment.appointment_id, reason, note);
      onDone(t("booking.cancelled"));
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <Dialog title={t("booking.cancelAppointment")} open={appointment !== null} onClose={onClose}>
      {appointment && (
        <form className="dialog-body" onSubmit={confirm}>
          <p>
            {appointment.client_name} · {appointment.service_name},{" "}
            {dayLabel(appointment.starts_at, appointment.time_zone)} {time(appointment.starts_at, appointment.time_zone)}
          </p>
          <label>
            {t("booking.reason")} <span aria-hidden="true">*</span>
            <select required value={reason} onChange={(e) => setReason(e.target.value)}>
              <option value="">{t("common.choose")}</option>
              {dir.reasons
                .filter((r) => r.active)
                .map((r) => (
                  <option key={r.reason_id} value={r.reason_id}>
                    {r.label}
                  </option>
                ))}
            </select>
          </label>
          <label>
            {t("booking.note")}
            <textarea rows={2} value={note} onChange={(e) => setNote(e.target.value)} />
          </label>
          <Notice error={error} />
          <div className="dialog-actions">
            <button type="button" onClick={onClose}>
              {t("booking.keepAppointment")}
            </button>
            <button type="submit" className="primary danger">
              {t("booking.cancelAppointment")}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
