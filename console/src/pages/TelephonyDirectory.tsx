/** Settings → Numbers and clinics (admin): the chain's public numbers (DIDs) and the clinic
 * each extension rings in — telephony's /dids and /extensions, listed, added, edited and
 * deleted, with the API's own validation messages beside the fields. */
import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from "react";
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
  id: string;
  title: string;
  intro: string;
  /** What one entry is called in sentences ("number", "extension"). */
  noun: string;
  keyLabel: string;
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
  title: "Public numbers (DIDs)",
  intro: "The chain's numbers patients call. A call to one of them belongs to its clinic in the call log and the reports.",
  noun: "number",
  keyLabel: "Number",
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
  title: "Extensions by clinic",
  intro: "The clinic each internal extension rings in. Extensions that operators have but that are not set up here are listed too.",
  noun: "extension",
  keyLabel: "Extension",
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

/** "is not a phone number" → "Number is not a phone number."; a sentence stays one. */
function sentence(label: string, message: string): string {
  const text = message.replace(/\.$/, "");
  if (/^[a-z]/.test(text)) return `${label} ${text}.`;
  return `${label}: ${text}.`;
}

/** The API's refusal as messages beside the fields it is about. */
function refusal(kind: Kind, error: unknown): FormErrors {
  const labels: Record<string, keyof FormErrors> = { [kind.keyField]: "key", clinic_id: "clinic_id", description: "description" };
  const names: Record<keyof FormErrors, string> = { key: kind.keyLabel, clinic_id: "Clinic", description: "Description", form: "" };
  const out: FormErrors = {};
  for (const [field, message] of Object.entries(fieldErrors(error))) {
    const at = labels[field] ?? "form";
    out[at] = at === "form" ? sentence(field, message) : sentence(names[at], message);
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
      .catch((e: Error) => setLoadError(`The ${kind.noun}s could not be read: ${e.message}`));
  }, [kind]);
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
    if (!form.key.trim()) found.key = `${kind.keyLabel} is required.`;
    if (kind.clinicRequired && !form.clinic_id) found.clinic_id = "Choose the clinic.";
    setErrors(found);
    if (Object.keys(found).length) return;
    const body = { clinic_id: form.clinic_id || null, description: form.description.trim() || null };
    setBusy(true);
    try {
      let key = form.key;
      if (form.mode === "add") key = await kind.add({ key: form.key.trim(), ...body });
      else await kind.change(form.key, body);
      setNotice(`${kind.keyLabel} ${kind.show(key)} ${form.mode === "add" ? "added" : "saved"}.`);
      setForm(emptyForm());
      reload();
    } catch (e) {
      setErrors(refusal(kind, e));
      setNotice(null);
    } finally {
      setBusy(false);
    }
  }

  async function remove(entry: Entry) {
    setBusy(true);
    try {
      await kind.remove(entry.key);
      setNotice(`${kind.keyLabel} ${kind.show(entry.key)} deleted.`);
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
  else if (entries === null) rows = <tr><td colSpan={5} className="muted">Loading…</td></tr>;
  else if (entries.length === 0) rows = <tr><td colSpan={5} className="muted">None yet.</td></tr>;
  else
    rows = entries.map((entry) => (
      <tr key={entry.key} data-key={entry.key} className={entry.configured ? "" : "muted"}>
        <th scope="row">{kind.show(entry.key)}</th>
        <td>{entry.configured ? clinicName(dir.clinics, entry.clinic_id) : "not set up"}</td>
        <td>{entry.description ?? ""}</td>
        {entries.some((e) => e.operators) && <td>{entry.operators?.join(", ")}</td>}
        <td>
          <button type="button" className="small" disabled={busy} onClick={() => edit(entry)}>
            {entry.configured ? "Edit" : "Set up"}
          </button>{" "}
          {entry.configured && (
            <button type="button" className="small danger" disabled={busy} onClick={() => setDeleting(entry)}>
              Delete
            </button>
          )}
        </td>
      </tr>
    ));

  return (
    <section className="card" aria-labelledby={`${kind.id}-title`} data-testid={`${kind.id}-settings`}>
      <h2 id={`${kind.id}-title`}>{kind.title}</h2>
      <p className="muted">{kind.intro}</p>
      {loadError && (
        <p className="error" role="alert">
          {loadError}
        </p>
      )}
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">{kind.keyLabel}</th>
              <th scope="col">Clinic</th>
              <th scope="col">Description</th>
              {entries?.some((e) => e.operators) && <th scope="col">Operators</th>}
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>{rows}</tbody>
        </table>
      </div>

      <form onSubmit={save} noValidate aria-label={form.mode === "add" ? `Add ${kind.noun}` : `Edit ${kind.noun}`}>
        <h3 className="h3">{form.mode === "add" ? `Add ${kind.noun}` : `Edit ${kind.noun} ${kind.show(form.key)}`}</h3>
        <fieldset disabled={busy}>
          <legend className="sr-only">{kind.title}</legend>
          <div className="form-row">
            <label htmlFor={field("key")}>
              <span>
                {kind.keyLabel}
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
                Clinic
                {kind.clinicRequired && <span aria-hidden="true"> *</span>}
              </span>
              <select
                id={field("clinic_id")}
                value={form.clinic_id}
                aria-required={kind.clinicRequired}
                {...invalid("clinic_id")}
                onChange={(e) => set({ clinic_id: e.target.value })}
              >
                <option value="">{kind.clinicRequired ? "Choose…" : "No clinic"}</option>
                {dir.clinics.map((c) => (
                  <option key={c.clinic_id} value={c.clinic_id}>
                    {c.name}
                  </option>
                ))}
              </select>
              {fieldError("clinic_id")}
            </label>
            <label htmlFor={field("description")}>
              <span>Description</span>
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
                Cancel
              </button>
            )}
            <button type="submit" className="primary">
              {form.mode === "add" ? `Add ${kind.noun}` : "Save changes"}
            </button>
          </div>
        </fieldset>
      </form>

      <Dialog title={`Delete ${kind.noun}`} open={deleting !== null} onClose={() => setDeleting(null)}>
        {deleting && (
          <div className="dialog-body">
            <p>
              Delete {kind.noun} <strong>{kind.show(deleting.key)}</strong> ({clinicName(dir.clinics, deleting.clinic_id)})?
              {kind.clinicRequired
                ? " New calls to it take the clinic of the extension that rings, if it has one."
                : " Operators who have it keep it; new calls on it take the clinic of the number called, if it has one."}
            </p>
            <div className="dialog-actions">
              <button type="button" onClick={() => setDeleting(null)}>
                Keep
              </button>
              <button type="button" className="primary danger" disabled={busy} onClick={() => void remove(deleting)}>
                Delete {kind.noun}
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
