/** A practitioner's time off (admins): absences listed, added and removed, and the booked
 * appointments they strand beneath, for an operator to reschedule. */
import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { timeOff, type Absence, type Practitioner } from "../api";
import TimeOffPanel from "../components/TimeOffPanel";
import { dateTime, dayRange, instantIn } from "../format";
import { useDirectory } from "../session";

/** A practitioner's absences: whole days, or hours on one day in one of their clinics' time. */
export default function Absences({ practitioner }: { practitioner: Practitioner }) {
  const dir = useDirectory();
  const { t } = useTranslation();
  const [items, setItems] = useState<Absence[] | null>(null);
  const [kind, setKind] = useState<"days" | "hours">("days");
  const [startsOn, setStartsOn] = useState("");
  const [endsOn, setEndsOn] = useState("");
  const [from, setFrom] = useState("09:00");
  const [until, setUntil] = useState("13:00");
  const [zoneClinic, setZoneClinic] = useState(practitioner.clinic_ids[0] ?? "");
  const [reason, setReason] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const zone = dir.clinic(zoneClinic)?.time_zone ?? "UTC";

  useEffect(() => {
    let live = true;
    timeOff
      .absences(practitioner.practitioner_id)
      .then((found) => live && setItems(found))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [practitioner.practitioner_id, version]);

  const describe = (a: Absence) =>
    a.starts_on ? dayRange(a.starts_on, a.ends_on) : `${dateTime(a.starts_at, zone)} – ${dateTime(a.ends_at, zone)}`;

  async function add(event: FormEvent) {
    event.preventDefault();
    const body =
      kind === "days"
        ? { starts_on: startsOn, ends_on: endsOn || undefined, reason: reason.trim() }
        : { starts_at: instantIn(startsOn, from, zone), ends_at: instantIn(startsOn, until, zone), reason: reason.trim() };
    try {
      const added = await timeOff.addAbsence(practitioner.practitioner_id, body);
      setNotice(t("practitioners.absenceAdded", { when: describe(added) }));
      setError(null);
      setStartsOn("");
      setEndsOn("");
      setReason("");
      setVersion((v) => v + 1);
    } catch (e) {
      setNotice(null);
      setError((e as Error).message);
    }
  }

  async function remove(absenceId: string) {
    const absence = items?.find((a) => a.absence_id === absenceId);
    try {
      await timeOff.removeAbsence(practitioner.practitioner_id, absenceId);
      if (absence) setNotice(t("practitioners.absenceRemoved", { when: describe(absence) }));
      setError(null);
      setVersion((v) => v + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <TimeOffPanel
      entries={items && items.map((a) => ({ id: a.absence_id, when: describe(a), reason: a.reason }))}
      label={t("practitioners.absences")}
      empty={t("practitioners.noAbsences")}
      onRemove={(id) => void remove(id)}
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
