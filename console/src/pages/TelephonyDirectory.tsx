/** Settings → Numbers and clinics (admin): the chain's public numbers (DIDs) and the clinic
 * each extension rings in — telephony's /dids and /extensions, listed, added, edited and
 * deleted, with the API's own validation messages beside the fields. */
import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from "react";
import type { TFunction } from "i18next";
import { Trans, useTranslation } from "react-i18next";
import { ApiError, fieldErrors, telephony, type Clinic } from "../api";
import Dialog from "../components/Dialog";
import { phone } from "../format";
import { useDirectory } from "../session";

/** One row of either list, in the terms both share. */
interface Entry {
  key: string;
  clinic_id: string | null;
  description: string | null;
  /** False for an extension known only from an operator's record (nothing to edit or delete yet). */
  configured: boolean;
  operators?: string[];
}

interface Kind {
  /** Also the section of its texts under `directory.` in the locales. */
  id: "dids" | "extensions";
  /** The key's field name in the API's bodies and errors. */
  keyField: string;
  keyPlaceholder: string;
  clinicRequired: boolean;
  show: (key: string) => string;
  list: () => Promise<Entry[]>;
  /** Adds the entry; the key as the platform stored it (a number in E.164). */
  add: (entry: { key: string; clinic_id: string | null; description: string | null }) => Promise<string>;
  change: (key: string, entry: { clinic_id: string | null; description: string | null }) => Promise<unknown>;
  remove: (key: string) => Promise<unknown>;
}

const DIDS: Kind = {
  id: "dids",
  keyField: "did",
  keyPlaceholder: "+7 495 123-45-67",
  clinicRequired: true,
  show: phone,
  list: async () =>
    (await telephony.dids()).map((d) => ({ key: d.did, clinic_id: d.clinic_id, description: d.description, configured: true })),
  add: async (e) => (await telephony.addDid({ did: e.key, clinic_id: e.clinic_id ?? "", description: e.description })).did,
  change: (key, e) => telephony.changeDid(key, { clinic_id: e.clinic_id ?? "", description: e.description }),
  remove: (key) => telephony.removeDid(key),
};

const EXTENSIONS: Kind = {
  id: "extensions",
  keyField: "extension",
  keyPlaceholder: "101",
  clinicRequired: false,
  show: (key) => key,
  list: async () =>
    (await telephony.extensions()).map((x) => ({
      key: x.extension,
      clinic_id: x.clinic_id,
      description: x.description,
      configured: x.configured,
      operators: x.operators.map((o) => o.name),
    })),
  add: async (e) =>
    (await telephony.addExtension({ extension: e.key, clinic_id: e.clinic_id, description: e.description })).extension,
  change: (key, e) => telephony.changeExtension(key, e),
  remove: (key) => telephony.removeExtension(key),
};

interface Form {
  mode: "add" | "edit";
  key: string;
  clinic_id: string;
  description: string;
}

type FormErrors = Partial<Record<"key" | "clinic_id" | "description" | "form", string>>;

const emptyForm = (): Form => ({ mode: "add", key: "", clinic_id: "", description: "" });

/** "is not a phone number" → "Number is not a phone number."; a sentence stays one. The
 * API's message itself stays as telephony wrote it. */
function sentence(label: string, message: string, t: TFunction): string {
  const text = message.replace(/\.$/, "");
  if (/^[a-z]/.test(text)) return t("directory.fieldPhrase", { field: label, message: text });
  return t("directory.fieldSentence", { field: label, message: text });
}

/** The API's refusal as messages beside the fields it is about. */
function refusal(kind: Kind, error: unknown, t: TFunction): FormErrors {
  const labels: Record<string, keyof FormErrors> = { [kind.keyField]: "key", clinic_id: "clinic_id", description: "description" };
  const names: Record<keyof FormErrors, string> = {
    key: t(`directory.${kind.id}.keyLabel`),
    clinic_id: t("directory.clinic"),
    description: t("directory.description"),
    form: "",
  };
  const out: FormErrors = {};
  for (const [field, message] of Object.entries(fieldErrors(error))) {
    const at = labels[field] ?? "form";
    out[at] = at === "form" ? sentence(field, message, t) : sentence(names[at], message, t);
  }
  if (Object.keys(out).length === 0) {
    const message = (error as Error).message;
    const text = message.charAt(0).toUpperCase() + message.slice(1).replace(/\.?$/, ".");
    // A duplicate (409) is about the key the admin typed; anything else is about the form.
    out[error instanceof ApiError && error.status === 409 ? "key" : "form"] = text;
  }
  return out;
}

function clinicName(clinics: Clinic[], clinicId: string | null): string {
  if (!clinicId) return "—";
  return clinics.find((c) => c.clinic_id === clinicId)?.name ?? clinicId;
}

function DirectorySection({ kind }: { kind: Kind }) {
  const dir = useDirectory();
  const { t } = useTranslation();
  const text = (key: "title" | "intro" | "keyLabel" | "add" | "edit" | "delete") => t(`directory.${kind.id}.${key}`);
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [form, setForm] = useState<Form>(emptyForm);
  const [errors, setErrors] = useState<FormErrors>({});
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState<Entry | null>(null);

  const reload = useCallback(() => {
    kind
      .list()
      .then((rows) => {
        setEntries(rows);
        setLoadError(null);
      })
      .catch((e: Error) => setLoadError(t(`directory.${kind.id}.unreadable`, { error: e.message })));
  }, [kind, t]);
  useEffect(reload, [reload]);

  const field = (name: "key" | "clinic_id" | "description") => `${kind.id}-${name}`;
  const set = (change: Partial<Form>) => {
    setForm({ ...form, ...change });
    setErrors({});
  };

  function edit(entry: Entry) {
    // An extension only an operator has is added (with its number filled in), not changed.
    setForm({
      mode: entry.configured ? "edit" : "add",
      key: entry.key,
      clinic_id: entry.clinic_id ?? "",
      description: entry.description ?? "",
    });
    setErrors({});
    setNotice(null);
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    const found: FormErrors = {};
    if (!form.key.trim()) found.key = t(`directory.${kind.id}.required`);
    if (kind.clinicRequired && !form.clinic_id) found.clinic_id = t("directory.chooseClinic");
    setErrors(found);
    if (Object.keys(found).length) return;
    const body = { clinic_id: form.clinic_id || null, description: form.description.trim() || null };
    setBusy(true);
    try {
      let key = form.key;
      if (form.mode === "add") key = await kind.add({ key: form.key.trim(), ...body });
      else await kind.change(form.key, body);
      setNotice(t(`directory.${kind.id}.${form.mode === "add" ? "added" : "saved"}`, { key: kind.show(key) }));
      setForm(emptyForm());
      reload();
    } catch (e) {
      setErrors(refusal(kind, e, t));
      setNotice(null);
    } finally {
      setBusy(false);
    }
  }

  async function remove(entry: Entry) {
    setBusy(true);
    try {
      await kind.remove(entry.key);
      setNotice(t(`directory.${kind.id}.deleted`, { key: kind.show(entry.key) }));
      if (form.key === entry.key) setForm(emptyForm());
      reload();
    } catch (e) {
      setNotice(null);
      setErrors({ form: (e as Error).message });
    } finally {
      setBusy(false);
      setDeleting(null);
    }
  }

  const fieldError = (name: keyof FormErrors) =>
    errors[name] && (
      <span className="field-error" id={`${kind.id}-${name}-error`}>
        {errors[name]}
      </span>
    );
  const invalid = (name: keyof FormErrors) => ({
    "aria-invalid": Boolean(errors[name]),
    "aria-describedby": errors[name] ? `${kind.id}-${name}-error` : undefined,
  });

  let rows: ReactNode;
  if (loadError) rows = null;
  else if (entries === null) rows = <tr><td colSpan={5} className="muted">{t("common.loading")}</td></tr>;
  else if (entries.length === 0) rows = <tr><td colSpan={5} className="muted">{t("directory.noneYet")}</td></tr>;
  else
    rows = entries.map((entry) => (
      <tr key={entry.key} data-key={entry.key} className={entry.configured ? "" : "muted"}>
        <th scope="row">{kind.show(entry.key)}</th>
        <td>{entry.configured ? clinicName(dir.clinics, entry.clinic_id) : t("directory.notSetUp")}</td>
        <td>{entry.description ?? ""}</td>
        {entries.some((e) => e.operators) && <td>{entry.operators?.join(", ")}</td>}
        <td>
          <button type="button" className="small" disabled={busy} onClick={() => edit(entry)}>
            {entry.configured ? t("directory.edit") : t("directory.setUp")}
          </button>{" "}
          {entry.configured && (
            <button type="button" className="small danger" disabled={busy} onClick={() => setDeleting(entry)}>
              {t("directory.delete")}
            </button>
          )}
        </td>
      </tr>
    ));

  return (
    <section className="card" aria-labelledby={`${kind.id}-title`} data-testid={`${kind.id}-settings`}>
      <h2 id={`${kind.id}-title`}>{text("title")}</h2>
      <p className="muted">{text("intro")}</p>
      {loadError && (
        <p className="error" role="alert">
          {loadError}
        </p>
      )}
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">{text("keyLabel")}</th>
              <th scope="col">{t("directory.clinic")}</th>
              <th scope="col">{t("directory.description")}</th>
              {entries?.some((e) => e.operators) && <th scope="col">{t("directory.operators")}</th>}
              <th scope="col">
                <span className="sr-only">{t("directory.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>{rows}</tbody>
        </table>
      </div>

      <form onSubmit={save} noValidate aria-label={form.mode === "add" ? text("add") : text("edit")}>
        <h3 className="h3">
          {form.mode === "add" ? text("add") : t(`directory.${kind.id}.editing`, { key: kind.show(form.key) })}
        </h3>
        <fieldset disabled={busy}>
          <legend className="sr-only">{text("title")}</legend>
          <div className="form-row">
            <label htmlFor={field("key")}>
              <span>
                {text("keyLabel")}
                <span aria-hidden="true"> *</span>
              </span>
              <input
                id={field("key")}
                value={form.key}
                readOnly={form.mode === "edit"}
                placeholder={kind.keyPlaceholder}
                inputMode="tel"
                aria-required
                {...invalid("key")}
                onChange={(e) => set({ key: e.target.value })}
              />
              {fieldError("key")}
            </label>
            <label htmlFor={field("clinic_id")}>
              <span>
                {t("directory.clinic")}
                {kind.clinicRequired && <span aria-hidden="true"> *</span>}
              </span>
              <select
                id={field("clinic_id")}
                value={form.clinic_id}
                aria-required={kind.clinicRequired}
                {...invalid("clinic_id")}
                onChange={(e) => set({ clinic_id: e.target.value })}
              >
                <option value="">{kind.clinicRequired ? t("common.choose") : t("directory.noClinic")}</option>
                {dir.clinics.map((c) => (
                  <option key={c.clinic_id} value={c.clinic_id}>
                    {c.name}
                  </option>
                ))}
              </select>
              {fieldError("clinic_id")}
            </label>
            <label htmlFor={field("description")}>
              <span>{t("directory.description")}</span>
              <input
                id={field("description")}
                value={form.description}
                maxLength={500}
                {...invalid("description")}
                onChange={(e) => set({ description: e.target.value })}
              />
              {fieldError("description")}
            </label>
          </div>
          {errors.form && (
            <p className="error" role="alert">
              {errors.form}
            </p>
          )}
          {notice && (
            <p className="notice" role="status">
              {notice}
            </p>
          )}
          <div className="form-actions">
            {form.mode === "edit" && (
              <button type="button" onClick={() => set(emptyForm())}>
                {t("common.cancel")}
              </button>
            )}
            <button type="submit" className="primary">
              {form.mode === "add" ? text("add") : t("directory.saveChanges")}
            </button>
          </div>
        </fieldset>
      </form>

      <Dialog title={text("delete")} open={deleting !== null} onClose={() => setDeleting(null)}>
        {deleting && (
          <div className="dialog-body">
            <p>
              <Trans
                i18nKey={`directory.${kind.id}.deleteQuestion`}
                values={{ key: kind.show(deleting.key), clinic: clinicName(dir.clinics, deleting.clinic_id) }}
                components={{ strong: <strong /> }}
              />{" "}
              {t(`directory.${kind.id}.deleteEffect`)}
            </p>
            <div className="dialog-actions">
              <button type="button" onClick={() => setDeleting(null)}>
                {t("directory.keep")}
              </button>
              <button type="button" className="primary danger" disabled={busy} onClick={() => void remove(deleting)}>
                {text("delete")}
              </button>
            </div>
          </div>
        )}
      </Dialog>
    </section>
  );
}

export default function TelephonyDirectory() {
  return (
    <div className="settings-stack">
      <DirectorySection kind={DIDS} />
      <DirectorySection kind={EXTENSIONS} />
    </div>
  );
}
