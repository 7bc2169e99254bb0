/** Settings → Services: what clients book (duration, meeting methods, the questions asked
 * when booking: required or optional, and the kind of answer); created, edited, deactivated
 * and reactivated by admins, read by managers. */
import { useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { directory, formErrors, type AnswerType, type MeetingMethod, type Question, type Service, type ServiceFields } from "../api";
import { EditDialog, FormActions, ListShell, RowActions, useListOutcome } from "../components/DirectoryList";
import { can, useDirectory, usePrincipal } from "../session";

const METHODS: MeetingMethod[] = ["in_person", "video", "phone"];
const ANSWER_TYPES: AnswerType[] = ["text", "number", "yes_no", "date"];
const SERVICE_FIELDS = ["name", "duration_minutes", "meeting_methods"] as const;

/** A question's id (the key of its answer) from its text, unique among `taken`. */
function questionId(text: string, taken: string[]): string {
  const base =
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 40) || "question";
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}_${n}`;
  return id;
}

export function ServicesSettings() {
  const dir = useDirectory();
  const { role } = usePrincipal();
  const editable = can.editDirectory(role);
  const { t } = useTranslation();
  const [search, setSearch] = useState("");
  const [editing, setEditing] = useState<Service | "new" | null>(null);
  const outcome = useListOutcome("services");
  const shown = useMemo(() => {
    const text = search.trim().toLowerCase();
    return dir.services.filter((s) => !text || s.name.toLowerCase().includes(text));
  }, [dir.services, search]);

  return (
    <ListShell
      section="services"
      search={search}
      onSearch={setSearch}
      editable={editable}
      onNew={() => setEditing("new")}
      outcome={outcome}
      headers={[t("services.name"), t("services.duration"), t("services.methods"), t("services.questions")]}
      shown={shown.length}
      rows={shown.map((s) => (
        <tr key={s.service_id} data-service-id={s.service_id} className={s.active ? "" : "inactive"}>
          <th scope="row">{s.name}</th>
          <td className="num">{t("booking.minutes", { count: s.duration_minutes })}</td>
          <td>{s.meeting_methods.map((m) => t(`meetingMethod.${m}`)).join(", ")}</td>
          <td className="small">
            {s.questions.map((q) => (
              <div key={q.question_id}>
                {q.text} <span className="muted">({t(`services.answerType.${q.answer_type ?? "text"}`)}, {q.required ? t("services.required") : t("services.optional")})</span>
              </div>
      ))}
                </td>
                <td>{s.active ? t("operators.active") : t("operators.inactive")}</td>
                {editable && (
                  <RowActions
                    active={s.active}
                    onEdit={() => setEditing(s)}
                    onToggle={() => void outcome.setActive(s.name, !s.active, (active) => directory.updateService(s.service_id, { active }))}
                  />
                )}
              </tr>
            ))}
    >
      <EditDialog section="services" editing={editing} onClose={() => setEditing(null)}>
        {(service) => (
          <ServiceForm
            service={service}
            onSaved={(name) => {
              setEditing(null);
              outcome.saved(name);
            }}
            onCancel={() => setEditing(null)}
          />
        )}
      </EditDialog>
    </ListShell>
  );
}

function ServiceForm({ service, onSaved, onCancel }: { service: Service | null; onSaved: (name: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(service?.name ?? "");
  const [duration, setDuration] = useState(String(service?.duration_minutes ?? 30));
  const [methods, setMethods] = useState<MeetingMethod[]>(service?.meeting_methods ?? ["in_person"]);
  const [questions, setQuestions] = useState<Question[]>(service?.questions ?? []);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const change = (i: number, value: Partial<Question>) => setQuestions(questions.map((q, j) => (i === j ? { ...q, ...value } : q)));

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!methods.length) {
      setErrors({ meeting_methods: t("services.chooseMethod") });
      return;
    }
    const named: Question[] = [];
    for (const q of questions.filter((q) => q.text.trim())) {
      const id = q.question_id || questionId(q.text, named.map((x) => x.question_id));
      named.push({ ...q, text: q.text.trim(), question_id: id, answer_type: q.answer_type ?? "text" });
    }
    const fields: ServiceFields = {
      name: name.trim(),
      duration_minutes: Number(duration),
      meeting_methods: methods,
      questions: named,
      active: service?.active ?? true,
    };
    setBusy(true);
    try {
      if (service) await directory.updateService(service.service_id, fields);
      else await directory.createService(fields);
      onSaved(fields.name);
    } catch (e) {
      setErrors(formErrors(e, SERVICE_FIELDS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="dialog-body" onSubmit={save}>
      <fieldset disabled={busy} className="plain">
        <label htmlFor="service-name">
          <span>{t("services.name")}</span>
          <input id="service-name" required maxLength={200} value={name} aria-invalid={Boolean(errors.name)} onChange={(e) => setName(e.target.value)} />
          {errors.name && <span className="field-error">{errors.name}</span>}
        </label>
        <label htmlFor="service-duration">
          <span>{t("services.durationMinutes")}</span>
          <input
            id="service-duration"
            type="number"
            required
            min={1}
            max={1440}
            value={duration}
            aria-invalid={Boolean(errors.duration_minutes)}
            onChange={(e) => setDuration(e.target.value)}
          />
          {errors.duration_minutes && <span className="field-error">{errors.duration_minutes}</span>}
        </label>
        <fieldset className="choices">
          <legend>{t("services.methods")}</legend>
          {METHODS.map((m) => (
            <label className="check" key={m}>
              <input
                type="checkbox"
                checked={methods.includes(m)}
                onChange={(e) => setMethods(e.target.checked ? [...methods, m] : methods.filter((x) => x !== m))}
              />
              {t(`meetingMethod.${m}`)}
            </label>
          ))}
          {errors.meeting_methods && <span className="field-error">{errors.meeting_methods}</span>}
        </fieldset>
        <fieldset className="choices questions-editor">
          <legend>{t("services.questions")}</legend>
          {questions.length === 0 && <p className="muted small">{t("services.noQuestions")}</p>}
          {questions.map((q, i) => (
            <div className="question-row" key={i}>
              <input aria-label={t("services.questionText", { n: i + 1 })} value={q.text} maxLength={200} onChange={(e) => change(i, { text: e.target.value })} />
              <select
                aria-label={t("services.answerTypeOf", { n: i + 1 })}
                value={q.answer_type ?? "text"}
                onChange={(e) => change(i, { answer_type: e.target.value as AnswerType })}
              >
                {ANSWER_TYPES.map((a) => (
                  <option key={a} value={a}>
                    {t(`services.answerType.${a}`)}
                  </option>
                ))}
              </select>
              <label className="check inline">
                <input type="checkbox" checked={q.required} onChange={(e) => change(i, { required: e.target.checked })} />
                {t("services.required")}
              </label>
              <button
                type="button"
                className="icon-button"
                aria-label={t("services.removeQuestion", { n: i + 1 })}
                onClick={() => setQuestions(questions.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </div>
          ))}
          <button
            type="button"
            className="small link"
            onClick={() => setQuestions([...questions, { question_id: "", text: "", required: false, answer_type: "text" }])}
          >
            + {t("services.addQuestion")}
          </button>
        </fieldset>
        <FormActions error={errors.form} onCancel={onCancel} submit={service ? t("common.save") : t("services.create")} />
      </fieldset>
    </form>
  );
}
