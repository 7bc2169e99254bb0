/** Settings → Clinics: the chain's clinics (name, address, IANA time zone with its offset
 * now, opening hours per weekday, reminders), created, edited, deactivated and reactivated
 * by admins and read by managers; each clinic's closed days (admins). */
import { useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { directory, formErrors, timeOff, type Clinic, type ClinicFields, type Closure } from "../api";
import Dialog from "../components/Dialog";
import { EditDialog, FormActions, ListShell, RowActions, useListOutcome } from "../components/DirectoryList";
import TimeOffPanel, { useTimeOff } from "../components/TimeOffPanel";
import WeekHours, { badSpans, spansText, type Span } from "../components/WeekHours";
import { dayRange, timeZones, zoneOffset } from "../format";
import { can, useDirectory, usePrincipal } from "../session";

const CLINIC_FIELDS = ["name", "city", "address", "time_zone", "reminder_hours_before"] as const;

const toSpans = (clinic: Clinic | null): Span[] =>
  (clinic?.opening_hours ?? []).map((h) => ({ weekday: h.weekday, from: h.opens, until: h.closes }));

export function ClinicsSettings() {
  const dir = useDirectory();
  const { role } = usePrincipal();
  const editable = can.editDirectory(role);
  const { t } = useTranslation();
  const [search, setSearch] = useState("");
  const [editing, setEditing] = useState<Clinic | "new" | null>(null);
  const [closing, setClosing] = useState<Clinic | null>(null);
  const outcome = useListOutcome("clinics");

  const shown = useMemo(() => {
    const text = search.trim().toLowerCase();
    return dir.clinics.filter((c) => !text || `${c.name} ${c.city} ${c.address}`.toLowerCase().includes(text));
  }, [dir.clinics, search]);

  return (
    <ListShell
      section="clinics"
      search={search}
      onSearch={setSearch}
      editable={editable}
      onNew={() => setEditing("new")}
      outcome={outcome}
      headers={[t("clinics.name"), t("clinics.city"), t("clinics.timeZone"), t("clinics.openingHours")]}
      shown={shown.length}
      rows={shown.map((c) => (
        <tr key={c.clinic_id} data-clinic-id={c.clinic_id} className={c.active ? "" : "inactive"}>
          <th scope="row">{c.name}</th>
          <td>
            {c.city}
            {c.address && <div className="muted small">{c.address}</div>}
          </td>
          <td>
            {c.time_zone} <span className="muted small">{zoneOffset(c.time_zone)}</span>
          </td>
          <td className="small">{spansText(toSpans(c)) || t("clinics.noHours")}</td>
          <td>{c.active ? t("operators.active") : t("operators.inactive")}</td>
          {editable && (
            <RowActions
              active={c.active}
              onEdit={() => setEditing(c)}
              onToggle={() => void outcome.setActive(c.name, !c.active, (active) => directory.updateClinic(c.clinic_id, { active }))}
            >
              <button type="button" className="small" onClick={() => setClosing(c)}>
                {t("clinics.closedDays")}
              </button>{" "}
            </RowActions>
          )}
        </tr>
      ))}
    >
      <EditDialog section="clinics" editing={editing} onClose={() => setEditing(null)}>
        {(clinic) => (
          <ClinicForm
            clinic={clinic}
            onSaved={(name) => {
              setEditing(null);
              outcome.saved(name);
            }}
            onCancel={() => setEditing(null)}
          />
        )}
      </EditDialog>
      <Dialog title={t("clinics.closedDaysOf", { name: closing?.name ?? "" })} open={closing !== null} onClose={() => setClosing(null)}>
        {closing && <ClosedDays clinic={closing} />}
      </Dialog>
    </ListShell>
  );
}

function ClinicForm({ clinic, onSaved, onCancel }: { clinic: Clinic | null; onSaved: (name: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(clinic?.name ?? "");
  const [city, setCity] = useState(clinic?.city ?? "");
  const [address, setAddress] = useState(clinic?.address ?? "");
  const [zone, setZone] = useState(clinic?.time_zone ?? "Europe/Moscow");
  const [reminder, setReminder] = useState(String(clinic?.reminder_hours_before ?? 24));
  const [spans, setSpans] = useState<Span[]>(toSpans(clinic));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const zones = useMemo(() => timeZones(clinic?.time_zone).map((z) => ({ zone: z, offset: zoneOffset(z) })), [clinic]);

  async function save(event: FormEvent) {
    event.preventDefault();
    const bad = badSpans(spans);
    if (bad.length) {
      setErrors({ form: t("week.endsBeforeStart", { days: bad.join(", ") }) });
      return;
    }
    const fields: ClinicFields = {
      name: name.trim(),
      city: city.trim(),
      address: address.trim(),
      time_zone: zone,
      active: clinic?.active ?? true,
      reminder_hours_before: Number(reminder || 0),
      opening_hours: spans.map((s) => ({ weekday: s.weekday, opens: s.from, closes: s.until })),
    };
    setBusy(true);
    try {
      if (clinic) await directory.updateClinic(clinic.clinic_id, fields);
      else await directory.createClinic(fields);
      onSaved(fields.name);
    } catch (e) {
      setErrors(formErrors(e, CLINIC_FIELDS));
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (field: string) =>
    errors[field] && (
      <span className="field-error" id={`clinic-${field}-error`}>
        {errors[field]}
      </span>
    );

  return (
    <form className="dialog-body" onSubmit={save}>
      <fieldset disabled={busy} className="plain">
        <label htmlFor="clinic-name">
          <span>{t("clinics.name")}</span>
          <input id="clinic-name" required maxLength={200} value={name} aria-invalid={Boolean(errors.name)} onChange={(e) => setName(e.target.value)} />
          {fieldError("name")}
        </label>
        <label htmlFor="clinic-city">
          <span>{t("clinics.city")}</span>
          <input id="clinic-city" value={city} onChange={(e) => setCity(e.target.value)} />
          {fieldError("city")}
        </label>
        <label htmlFor="clinic-address">
          <span>{t("clinics.address")}</span>
          <input id="clinic-address" value={address} onChange={(e) => setAddress(e.target.value)} />
          {fieldError("address")}
        </label>
        <label htmlFor="clinic-time_zone">
          <span id="clinic-time_zone-label">{t("clinics.timeZone")}</span>
          {/* Named by its caption alone: the label's text holds every zone's name too. */}
          <select id="clinic-time_zone" aria-labelledby="clinic-time_zone-label" value={zone} aria-invalid={Boolean(errors.time_zone)} onChange={(e) => setZone(e.target.value)}>
            {zones.map(({ zone: z, offset }) => (
              <option key={z} value={z}>
                {z} ({offset})
              </option>
            ))}
          </select>
          <span className="muted small" data-testid="clinic-offset">
            {t("clinics.offsetNow", { offset: zoneOffset(zone) })}
          </span>
          {fieldError("time_zone")}
        </label>
        <label htmlFor="clinic-reminder_hours_before">
          <span>{t("clinics.reminderHours")}</span>
          <input
            id="clinic-reminder_hours_before"
            type="number"
            min={0}
            max={336}
            value={reminder}
            onChange={(e) => setReminder(e.target.value)}
          />
          {fieldError("reminder_hours_before")}
        </label>
        <WeekHours spans={spans} onChange={setSpans} label={t("clinics.openingHours")} idPrefix="clinic" />
        <p className="muted small">{t("clinics.hoursExplain")}</p>
        <FormActions error={errors.form} onCancel={onCancel} submit={clinic ? t("common.save") : t("clinics.create")} />
      </fieldset>
    </form>
  );
}

/** A clinic's closed days: listed, added (one day or a span), removed. */
function ClosedDays({ clinic }: { clinic: Clinic }) {
  const { t } = useTranslation();
  const days = (c: Closure) => dayRange(c.starts_on, c.ends_on);
  const { items, notice, error, version, form, ...change } = useTimeOff(clinic.clinic_id, {
    load: timeOff.closures,
    add: timeOff.addClosure,
    remove: timeOff.removeClosure,
    idOf: (c: Closure) => c.closure_id,
    added: (c) => t("clinics.closureAdded", { days: days(c) }),
    removed: (c) => t("clinics.closureRemoved", { days: days(c) }),
  });
  const { startsOn, setStartsOn, endsOn, setEndsOn, reason, setReason } = form;

  async function add(event: FormEvent) {
    event.preventDefault();
    await change.add({ starts_on: startsOn, ends_on: endsOn || undefined, reason: reason.trim() });
  }

  return (
    <TimeOffPanel
      entries={items && items.map((c) => ({ id: c.closure_id, when: days(c), reason: c.reason }))}
      label={t("clinics.closedDays")}
      empty={t("clinics.noClosures")}
      onRemove={(id) => void change.remove(id)}
      notice={notice}
      error={error}
      stranded={{ clinicId: clinic.clinic_id, version, title: t("toReschedule.here") }}
    >
      <form className="time-off-form" onSubmit={add}>
        <div className="form-row">
          <label>
            {t("timeOff.from")}
            <input type="date" required value={startsOn} onChange={(e) => setStartsOn(e.target.value)} />
          </label>
          <label>
            {t("timeOff.until")}
            <input type="date" value={endsOn} min={startsOn} onChange={(e) => setEndsOn(e.target.value)} />
          </label>
        </div>
        <label>
          {t("timeOff.reason")}
          <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </label>
        <div className="dialog-actions">
          <button type="submit" className="primary">
            {t("clinics.addClosure")}
          </button>
        </div>
      </form>
    </TimeOffPanel>
  );
}
