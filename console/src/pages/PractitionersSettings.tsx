/** Settings → Practitioners: who works where, giving what, in which languages and when
 * (weekly hours per clinic, in the clinic's time); created, edited, deactivated and
 * reactivated by admins, read by managers; each practitioner's absences (admins). */
import { useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { directory, formErrors, type Practitioner, type PractitionerFields } from "../api";
import Dialog from "../components/Dialog";
import { EditDialog, FormActions, ListShell, RowActions, useListOutcome } from "../components/DirectoryList";
import Absences from "./PractitionerTimeOff";
import WeekHours, { badSpans, spansText, type Span } from "../components/WeekHours";
import { languageName } from "../format";
import { can, useDirectory, usePrincipal } from "../session";

const PRACTITIONER_FIELDS = ["name", "languages", "clinic_ids", "service_ids"] as const;
const LANGUAGE_CODE = /^[a-z]{2,3}$/;

const spansAt = (p: Practitioner | null, clinicId: string): Span[] =>
  (p?.working_hours ?? []).filter((h) => h.clinic_id === clinicId).map((h) => ({ weekday: h.weekday, from: h.starts, until: h.ends }));

export function PractitionersSettings() {
  const dir = useDirectory();
  const { role } = usePrincipal();
  const editable = can.editDirectory(role);
  const { t } = useTranslation();
  const [search, setSearch] = useState("");
  const [clinicFilter, setClinicFilter] = useState("");
  const [editing, setEditing] = useState<Practitioner | "new" | null>(null);
  const [away, setAway] = useState<Practitioner | null>(null);
  const outcome = useListOutcome("practitioners");

  const shown = useMemo(() => {
    const text = search.trim().toLowerCase();
    return dir.practitioners.filter(
      (p) => (!text || p.name.toLowerCase().includes(text)) && (!clinicFilter || p.clinic_ids.includes(clinicFilter)),
    );
  }, [dir.practitioners, search, clinicFilter]);
  const clinicName = (id: string) => dir.clinic(id)?.name ?? id;
  const serviceName = (id: string) => dir.services.find((s) => s.service_id === id)?.name ?? id;

  return (
    <ListShell
      section="practitioners"
      search={search}
      onSearch={setSearch}
      filters={
        <>
          <label>
            {t("practitioners.clinic")}
            <select value={clinicFilter} onChange={(e) => setClinicFilter(e.target.value)}>
              <option value="">{t("practitioners.allClinics")}</option>
              {dir.clinics.map((c) => (
                <option key={c.clinic_id} value={c.clinic_id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
        </>
      }
      editable={editable}
      onNew={() => setEditing("new")}
      outcome={outcome}
      headers={[t("practitioners.name"), t("practitioners.clinicsAndHours"), t("practitioners.services"), t("practitioners.languages")]}
      shown={shown.length}
      rows={shown.map((p) => (
        <tr key={p.practitioner_id} data-practitioner-id={p.practitioner_id} className={p.active ? "" : "inactive"}>
          <th scope="row">{p.name}</th>
          <td className="small">
            {p.clinic_ids.map((c) => (
              <div key={c}>
                <strong>{clinicName(c)}</strong> {spansText(spansAt(p, c)) || t("practitioners.noHours")}
              </div>
      ))}
                </td>
                <td className="small">{p.service_ids.map(serviceName).join(", ")}</td>
                <td className="small">{p.languages.map(languageName).join(", ")}</td>
                <td>{p.active ? t("operators.active") : t("operators.inactive")}</td>
                {editable && (
                  <RowActions
                    active={p.active}
                    onEdit={() => setEditing(p)}
                    onToggle={() =>
                      void outcome.setActive(p.name, !p.active, (active) => directory.updatePractitioner(p.practitioner_id, { active }))
                    }
                  >
                    <button type="button" className="small" onClick={() => setAway(p)}>
                      {t("practitioners.timeOff")}
                    </button>{" "}
                  </RowActions>
                )}
              </tr>
            ))}
    >
      <EditDialog section="practitioners" editing={editing} onClose={() => setEditing(null)}>
        {(practitioner) => (
          <PractitionerForm
            practitioner={practitioner}
            onSaved={(name) => {
              setEditing(null);
              outcome.saved(name);
            }}
            onCancel={() => setEditing(null)}
          />
        )}
      </EditDialog>
      <Dialog title={t("practitioners.timeOffOf", { name: away?.name ?? "" })} open={away !== null} onClose={() => setAway(null)}>
        {away && <Absences practitioner={away} />}
      </Dialog>
    </ListShell>
  );
}

function PractitionerForm({
  practitioner,
  onSaved,
  onCancel,
}: {
  practitioner: Practitioner | null;
  onSaved: (name: string) => void;
  onCancel: () => void;
}) {
  const dir = useDirectory();
  const { t } = useTranslation();
  const [name, setName] = useState(practitioner?.name ?? "");
  const [languages, setLanguages] = useState((practitioner?.languages ?? []).join(", "));
  const [clinicIds, setClinicIds] = useState<string[]>(practitioner?.clinic_ids ?? []);
  const [serviceIds, setServiceIds] = useState<string[]>(practitioner?.service_ids ?? []);
  const [hours, setHours] = useState<Record<string, Span[]>>(() =>
    Object.fromEntries((practitioner?.clinic_ids ?? []).map((c) => [c, spansAt(practitioner, c)])),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const toggle = (list: string[], id: string, on: boolean) => (on ? [...list.filter((x) => x !== id), id] : list.filter((x) => x !== id));
  const codes = languages
    .split(/[\s,;]+/)
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean);

  async function save(event: FormEvent) {
    event.preventDefault();
    const wrong = codes.filter((c) => !LANGUAGE_CODE.test(c));
    if (wrong.length) {
      setErrors({ languages: t("practitioners.badLanguages", { codes: wrong.join(", ") }) });
      return;
    }
    const bad = clinicIds.flatMap((c) => badSpans(hours[c] ?? []));
    if (bad.length) {
      setErrors({ form: t("week.endsBeforeStart", { days: bad.join(", ") }) });
      return;
    }
    const fields: PractitionerFields = {
      name: name.trim(),
      languages: Array.from(new Set(codes)),
      clinic_ids: clinicIds,
      service_ids: serviceIds,
      active: practitioner?.active ?? true,
      working_hours: clinicIds.flatMap((c) =>
        (hours[c] ?? []).map((s) => ({ clinic_id: c, weekday: s.weekday, starts: s.from, ends: s.until })),
      ),
    };
    setBusy(true);
    try {
      if (practitioner) await directory.updatePractitioner(practitioner.practitioner_id, fields);
      else await directory.createPractitioner(fields);
      onSaved(fields.name);
    } catch (e) {
      setErrors(formErrors(e, PRACTITIONER_FIELDS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="dialog-body" onSubmit={save}>
      <fieldset disabled={busy} className="plain">
        <label htmlFor="practitioner-name">
          <span>{t("practitioners.name")}</span>
          <input id="practitioner-name" required maxLength={200} value={name} aria-invalid={Boolean(errors.name)} onChange={(e) => setName(e.target.value)} />
          {errors.name && <span className="field-error">{errors.name}</span>}
        </label>
        <label htmlFor="practitioner-languages">
          <span>{t("practitioners.languages")}</span>
          <input
            id="practitioner-languages"
            value={languages}
            placeholder="ru, en"
            aria-invalid={Boolean(errors.languages)}
            aria-describedby="practitioner-languages-help"
            onChange={(e) => setLanguages(e.target.value)}
          />
          <span className="muted small" id="practitioner-languages-help">
            {codes.filter((c) => LANGUAGE_CODE.test(c)).map(languageName).join(", ") || t("practitioners.languagesHelp")}
          </span>
          {errors.languages && <span className="field-error">{errors.languages}</span>}
        </label>
        <fieldset className="choices">
          <legend>{t("practitioners.services")}</legend>
          {dir.services
            .filter((s) => s.active || serviceIds.includes(s.service_id))
            .map((s) => (
              <label className="check" key={s.service_id}>
                <input
                  type="checkbox"
                  checked={serviceIds.includes(s.service_id)}
                  onChange={(e) => setServiceIds(toggle(serviceIds, s.service_id, e.target.checked))}
                />
                {s.name}
              </label>
            ))}
        </fieldset>
        <fieldset className="choices">
          <legend>{t("practitioners.clinics")}</legend>
          {dir.clinics
            .filter((c) => c.active || clinicIds.includes(c.clinic_id))
            .map((c) => (
              <label className="check" key={c.clinic_id}>
                <input
                  type="checkbox"
                  checked={clinicIds.includes(c.clinic_id)}
                  onChange={(e) => setClinicIds(toggle(clinicIds, c.clinic_id, e.target.checked))}
                />
                {c.name}
              </label>
            ))}
        </fieldset>
        {clinicIds.map((c) => (
          <WeekHours
            key={c}
            spans={hours[c] ?? []}
            onChange={(spans) => setHours({ ...hours, [c]: spans })}
            label={t("practitioners.hoursAt", { clinic: dir.clinic(c)?.name ?? c, zone: dir.clinic(c)?.time_zone ?? "" })}
            idPrefix={`practitioner-${c}`}
          />
        ))}
        <FormActions error={errors.form} onCancel={onCancel} submit={practitioner ? t("common.save") : t("practitioners.create")} />
      </fieldset>
    </form>
  );
}
