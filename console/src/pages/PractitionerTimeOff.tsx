/** A practitioner's time off (admins): absences listed, added and removed, and the booked
 * appointments they strand beneath, for an operator to reschedule. */
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { timeOff, type Absence, type Practitioner } from "../api";
import TimeOffPanel, { useTimeOff } from "../components/TimeOffPanel";
import { dateTime, dayRange, instantIn } from "../format";
import { useDirectory } from "../session";

/** A practitioner's absences: whole days, or hours on one day in one of their clinics' time. */
export default function Absences({ practitioner }: { practitioner: Practitioner }) {
  const dir = useDirectory();
  const { t } = useTranslation();
  const [kind, setKind] = useState<"days" | "hours">("days");
  const [from, setFrom] = useState("09:00");
  const [until, setUntil] = useState("13:00");
  const [zoneClinic, setZoneClinic] = useState(practitioner.clinic_ids[0] ?? "");
  const zone = dir.clinic(zoneClinic)?.time_zone ?? "UTC";

  const describe = (a: Absence) =>
    a.starts_on ? dayRange(a.starts_on, a.ends_on) : `${dateTime(a.starts_at, zone)} – ${dateTime(a.ends_at, zone)}`;

  const { items, notice, error, version, form, ...change } = useTimeOff(practitioner.practitioner_id, {
    load: timeOff.absences,
    add: timeOff.addAbsence,
    remove: timeOff.removeAbsence,
    idOf: (a: Absence) => a.absence_id,
    added: (a) => t("practitioners.absenceAdded", { when: describe(a) }),
    removed: (a) => t("practitioners.absenceRemoved", { when: describe(a) }),
  });
  const { startsOn, setStartsOn, endsOn, setEndsOn, reason, setReason } = form;

  async function add(event: FormEvent) {
    event.preventDefault();
    const body =
      kind === "days"
        ? { starts_on: startsOn, ends_on: endsOn || undefined, reason: reason.trim() }
        : { starts_at: instantIn(startsOn, from, zone), ends_at: instantIn(startsOn, until, zone), reason: reason.trim() };
    await change.add(body);
  }

  return (
    <TimeOffPanel
      entries={items && items.map((a) => ({ id: a.absence_id, when: describe(a), reason: a.reason }))}
      label={t("practitioners.absences")}
      empty={t("practitioners.noAbsences")}
      onRemove={(id) => void change.remove(id)}
      notice={notice}
      error={error}
      stranded={{ practitionerId: practitioner.practitioner_id, version, title: t("toReschedule.theirs") }}
    >
      <form className="time-off-form" onSubmit={add}>
        <div className="form-row" role="radiogroup" aria-label={t("practitioners.absenceKind")}>
          <label className="check">
            <input type="radio" name="absence-kind" checked={kind === "days"} onChange={() => setKind("days")} />
            {t("practitioners.wholeDays")}
          </label>
          <label className="check">
            <input type="radio" name="absence-kind" checked={kind === "hours"} onChange={() => setKind("hours")} />
            {t("practitioners.someHours")}
          </label>
        </div>
        <div className="form-row">
          <label>
            {kind === "days" ? t("timeOff.from") : t("timeOff.day")}
            <input type="date" required value={startsOn} onChange={(e) => setStartsOn(e.target.value)} />
          </label>
          {kind === "days" ? (
            <label>
              {t("timeOff.until")}
              <input type="date" value={endsOn} min={startsOn} onChange={(e) => setEndsOn(e.target.value)} />
            </label>
          ) : (
            <>
              <label>
                {t("timeOff.fromTime")}
                <input type="time" required value={from} onChange={(e) => setFrom(e.target.value)} />
              </label>
              <label>
                {t("timeOff.untilTime")}
                <input type="time" required value={until} onChange={(e) => setUntil(e.target.value)} />
              </label>
              <label>
                {t("timeOff.timeOf")}
                <select value={zoneClinic} onChange={(e) => setZoneClinic(e.target.value)}>
                  {practitioner.clinic_ids.map((c) => (
                    <option key={c} value={c}>
                      {dir.clinic(c)?.name ?? c} ({dir.clinic(c)?.time_zone})
                    </option>
                  ))}
                </select>
              </label>
            </>
          )}
        </div>
        <label>
          {t("timeOff.reason")}
          <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </label>
        <div className="dialog-actions">
          <button type="submit" className="primary">
            {t("practitioners.addAbsence")}
          </button>
        </div>
      </form>
    </TimeOffPanel>
  );
}
