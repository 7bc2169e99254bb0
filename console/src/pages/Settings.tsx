/** Settings (admin): Calltouch and Callmarker, the chain's numbers and extensions by clinic,
 * operators' extensions, cancellation reasons, patient notification templates, operators
 * and call centers, the audit trail. */
import { useEffect, useMemo, useState, type FormEvent } from "react";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import {
  directory,
  fieldErrors,
  telephony,
  type IntegrationKind,
  type IntegrationUpdate,
  type Operator,
} from "../api";
import Notice from "../components/Notice";
import AuditTrail from "./Audit";
import { ClinicsSettings } from "./ClinicsSettings";
import { CallCentersSettings } from "./CallCentersSettings";
import { OperatorsSettings } from "./OperatorsSettings";
import { PractitionersSettings } from "./PractitionersSettings";
import { ServicesSettings } from "./ServicesSettings";
import NotificationTemplates from "./NotificationTemplates";
import TelephonyDirectory from "./TelephonyDirectory";
import { can, useDirectory, usePrincipal } from "../session";

type Tab =
  | "integrations"
  | "numbers"
  | "extensions"
  | "reasons"
  | "notifications"
  | "operators"
  | "callCenters"
  | "clinics"
  | "practitioners"
  | "services"
  | "audit";

/** The directory's tabs: admins change it, managers read it. */
const DIRECTORY_TABS: Tab[] = ["operators", "callCenters", "clinics", "practitioners", "services"];

// --- integrations ------------------------------------------------------------------------

interface IntegrationForm {
  enabled: boolean;
  call_data_url: string;
  request_data_url: string;
  integration_id: string;
  token: string;
  time_lag_minutes: string;
}

type Field = keyof IntegrationForm;
type Errors = Partial<Record<Field, string>>;

const FIELDS: Field[] = ["enabled", "call_data_url", "request_data_url", "integration_id", "token", "time_lag_minutes"];

function isUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && Boolean(url.hostname);
  } catch {
    return false;
  }
}

/** The form's rules: every field is mandatory when the integration is enabled. */
export function validateIntegration(form: IntegrationForm, name: string, tokenSet: boolean, t: TFunction): Errors {
  const errors: Errors = {};
  const required = (field: Field) => {
    if (form.enabled && !String(form[field]).trim()) {
      errors[field] = t("integration.required", { field: t(`integration.field.${field}`), name });
    }
  };
  for (const field of ["call_data_url", "request_data_url"] as const) {
    required(field);
    const value = form[field].trim();
    if (value && !isUrl(value)) errors[field] = t("integration.notUrl", { field: t(`integration.field.${field}`) });
  }
  required("integration_id");
  if (form.enabled && !form.token.trim() && !tokenSet) {
    errors.token = t("integration.required", { field: t("integration.field.token"), name });
  }
  required("time_lag_minutes");
  const lag = form.time_lag_minutes.trim();
  if (lag && !/^[-+]?\d+$/.test(lag)) errors.time_lag_minutes = t("integration.lagNotWhole");
  else if (lag && Math.abs(Number(lag)) > 1440) errors.time_lag_minutes = t("integration.lagTooBig");
  return errors;
}

/** Field errors from the server's 422, by the form's field names. */
function serverErrors(error: unknown): Errors {
  const out: Errors = {};
  for (const [field, message] of Object.entries(fieldErrors(error))) {
    if ((FIELDS as string[]).includes(field)) out[field as Field] = message;
  }
  return out;
}

function IntegrationSettingsForm({ kind, name }: { kind: IntegrationKind; name: string }) {
  const [form, setForm] = useState<IntegrationForm>({
    enabled: false,
    call_data_url: "",
    request_data_url: "",
    integration_id: "",
    token: "",
    time_lag_minutes: "0",
  });
  const [tokenSet, setTokenSet] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [notice, setNotice] = useState<{ kind: "ok" | "error" | "info"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  // The form stays disabled until the current settings are read, so nothing typed is lost.
  const [loaded, setLoaded] = useState(false);
  const { t } = useTranslation();

  useEffect(() => {
    telephony
      .integration(kind)
      .then((s) => {
        setForm({
          enabled: s.enabled,
          call_data_url: s.call_data_url,
          request_data_url: s.request_data_url,
          integration_id: s.integration_id,
          token: "",
          time_lag_minutes: String(s.time_lag_minutes ?? 0),
        });
        setTokenSet(Boolean(s.token_set));
      })
      .catch((e: Error) => setNotice({ kind: "info", text: t("integration.unreadable", { error: e.message }) }))
      .finally(() => setLoaded(true));
  }, [kind]);

  const set = (change: Partial<IntegrationForm>) => {
    const next = { ...form, ...change };
    setForm(next);
    // Once the operator has tried to save, errors follow the edits as they happen.
    if (Object.keys(errors).length) setErrors(validateIntegration(next, name, tokenSet, t));
  };

  async function save(event: FormEvent) {
    event.preventDefault();
    const found = validateIntegration(form, name, tokenSet, t);
    setErrors(found);
    if (Object.keys(found).length) {
      setNotice({ kind: "error", text: t("integration.fixFields") });
      return;
    }
    const body: IntegrationUpdate = {
      enabled: form.enabled,
      call_data_url: form.call_data_url.trim(),
      request_data_url: form.request_data_url.trim(),
      integration_id: form.integration_id.trim(),
      time_lag_minutes: Number(form.time_lag_minutes || 0),
    };
    if (form.token.trim()) body.token = form.token.trim();
    setBusy(true);
    try {
      await telephony.saveIntegration(kind, body);
      if (body.token) setTokenSet(true);
      setForm({ ...form, token: "" });
      setNotice({ kind: "ok", text: t("integration.saved", { name }) });
    } catch (e) {
      setErrors(serverErrors(e));
      setNotice({ kind: "error", text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  }

  const input = (field: Exclude<Field, "enabled">, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => {
    const id = `${kind}-${field}`;
    const mandatory = form.enabled && (field !== "token" || !tokenSet);
    return (
      <label htmlFor={id}>
        <span>
          {t(`integration.field.${field}`)}
          {mandatory && <span aria-hidden="true"> *</span>}
        </span>
        <input
          id={id}
          name={field}
          value={form[field]}
          aria-invalid={Boolean(errors[field])}
          aria-describedby={errors[field] ? `${id}-error` : undefined}
          aria-required={mandatory}
          onChange={(e) => set({ [field]: e.target.value } as Partial<IntegrationForm>)}
          {...props}
        />
        {errors[field] && (
          <span className="field-error" id={`${id}-error`}>
            {errors[field]}
          </span>
        )}
      </label>
    );
  };

  return (
    <form className="card integration" onSubmit={save} noValidate aria-labelledby={`${kind}-title`} data-testid={`${kind}-form`}>
      <h2 id={`${kind}-title`}>{name}</h2>
      <fieldset disabled={!loaded || busy} aria-busy={!loaded}>
      <legend className="sr-only">{t("integration.settingsOf", { name })}</legend>
      <label className="check switch">
        <input type="checkbox" name="enabled" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
        {t("integration.field.enabled")}
      </label>
      {input("call_data_url", { type: "url", placeholder: "https://…", inputMode: "url" })}
      {input("request_data_url", { type: "url", placeholder: "https://…", inputMode: "url" })}
      {input("integration_id")}
      {input("token", {
        type: "password",
        autoComplete: "off",
        placeholder: tokenSet ? `•••••••• (${t("integration.tokenSet")})` : "",
      })}
      {input("time_lag_minutes", { inputMode: "numeric" })}
      {notice && (
        <p className={notice.kind === "ok" ? "notice" : notice.kind === "info" ? "muted small" : "error"} role={notice.kind === "error" ? "alert" : "status"}>
          {notice.text}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary">
          {t("integration.save", { name })}
        </button>
      </div>
      </fieldset>
    </form>
  );
}

// --- extensions --------------------------------------------------------------------------

function ExtensionRow({ operator, onSaved }: { operator: Operator; onSaved: () => void }) {
  const [value, setValue] = useState(operator.extension ?? "");
  const [state, setState] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const changed = value.trim() !== (operator.extension ?? "");
  const dir = useDirectory();
  const { t } = useTranslation();

  async function save() {
    if (value.trim() && !/^\d{2,8}$/.test(value.trim())) {
      setState(t("extensions.invalid"));
      return;
    }
    try {
      await directory.updateOperator(operator.operator_id, { extension: value.trim() || null });
      setSaved(true);
      onSaved();
    } catch (e) {
      setState((e as Error).message);
    }
  }

  return (
    <tr>
      <th scope="row">{operator.name}</th>
      <td>{t(`role.${operator.role}`)}</td>
      <td>{dir.callCenters.find((c) => c.call_center_id === operator.call_center_id)?.name ?? "—"}</td>
      <td>
        <input
          aria-label={t("extensions.extensionOf", { name: operator.name })}
          value={value}
          inputMode="numeric"
          size={6}
          onChange={(e) => {
            setValue(e.target.value);
            setState(null);
            setSaved(false);
          }}
        />
      </td>
      <td>
        <button type="button" className="small" disabled={!changed} onClick={() => void save()}>
          {t("common.save")}
        </button>{" "}
        {saved && <span className="muted small">{t("common.saved")}</span>}
        {state && <span className="field-error">{state}</span>}
      </td>
    </tr>
  );
}

function Extensions() {
  const dir = useDirectory();
  const { t } = useTranslation();
  const shared = useMemo(() => {
    const byExt = new Map<string, string[]>();
    for (const o of dir.operators) {
      if (o.extension) byExt.set(o.extension, [...(byExt.get(o.extension) ?? []), o.name]);
    }
    return [...byExt.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [dir.operators]);
  return (
    <section className="card" aria-labelledby="ext-title">
      <h2 id="ext-title">{t("extensions.title")}</h2>
      <p className="muted">
        {t("extensions.explain")}
      </p>
      <ul className="chips" aria-label={t("extensions.inUse")}>
        {shared.map(([ext, names]) => (
          <li className="chip" key={ext}>
            <strong>{ext}</strong>&nbsp;{names.join(", ")}
            {names.length > 1 && <span className="badge">{t("extensions.shared")}</span>}
          </li>
        ))}
      </ul>
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">{t("extensions.operator")}</th>
              <th scope="col">{t("extensions.role")}</th>
              <th scope="col">{t("extensions.callCenter")}</th>
              <th scope="col">{t("extensions.extension")}</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {dir.operators.map((o) => (
              <ExtensionRow key={`${o.operator_id}-${o.extension}`} operator={o} onSaved={dir.reload} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

// --- cancellation reasons ----------------------------------------------------------------

function Reasons() {
  const dir = useDirectory();
  const [label, setLabel] = useState("");
  const [error, setError] = useState<string | null>(null);
  const { t } = useTranslation();

  async function add(event: FormEvent) {
    event.preventDefault();
    if (!label.trim()) {
      setError(t("reasons.writeIt"));
      return;
    }
    try {
      await directory.createReason(label.trim());
      setLabel("");
      setError(null);
      dir.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function change(reasonId: string, value: { label?: string; active?: boolean }) {
    try {
      await directory.updateReason(reasonId, value);
      setError(null);
      dir.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <section className="card" aria-labelledby="reasons-title">
      <h2 id="reasons-title">{t("reasons.title")}</h2>
      <ul className="plain reasons">
        {dir.reasons.map((r) => (
          <li key={`${r.reason_id}-${r.label}-${r.active}`} className={r.active ? "" : "inactive"}>
            <input
              aria-label={t("reasons.labelOf", { label: r.label })}
              defaultValue={r.label}
              onBlur={(e) => e.target.value.trim() && e.target.value !== r.label && void change(r.reason_id, { label: e.target.value.trim() })}
            />
            <label className="check inline">
              <input type="checkbox" checked={r.active} onChange={(e) => void change(r.reason_id, { active: e.target.checked })} />
              {t("reasons.inUse")}
            </label>
          </li>
        ))}
      </ul>
      <form className="inline-form" onSubmit={add}>
        <label className="inline">
          {t("reasons.newReason")}
          <input value={label} onChange={(e) => setLabel(e.target.value)} />
        </label>
        <button type="submit">{t("common.add")}</button>
      </form>
      <Notice error={error} />
    </section>
  );
}

export default function SettingsPage() {
  const { role } = usePrincipal();
  const tabs: Tab[] = can.manageSettings(role)
    ? ["integrations", "numbers", "extensions", "reasons", "notifications", ...DIRECTORY_TABS, "audit"]
    : DIRECTORY_TABS;
  const [tab, setTab] = useState<Tab>(tabs[0]);
  const { t } = useTranslation();
  return (
    <div className="page">
      <h1>{t("settings.title")}</h1>
      <div className="tabs" role="tablist" aria-label={t("settings.title")}>
        {tabs.map((value) => (
          <button
            key={value}
            type="button"
            role="tab"
            id={`tab-${value}`}
            aria-selected={tab === value}
            aria-controls={`panel-${value}`}
            onClick={() => setTab(value)}
          >
            {t(`settings.tab.${value}`)}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === "integrations" && (
          <div className="two-col">
            <IntegrationSettingsForm kind="calltouch" name="Calltouch" />
            <IntegrationSettingsForm kind="callmarker" name="Callmarker" />
          </div>
        )}
        {tab === "numbers" && <TelephonyDirectory />}
        {tab === "extensions" && <Extensions />}
        {tab === "reasons" && <Reasons />}
        {tab === "notifications" && <NotificationTemplates />}
        {tab === "audit" && <AuditTrail />}
        {tab === "operators" && <OperatorsSettings />}
        {tab === "callCenters" && <CallCentersSettings />}
        {tab === "clinics" && <ClinicsSettings />}
        {tab === "practitioners" && <PractitionersSettings />}
        {tab === "services" && <ServicesSettings />}
      </div>
    </div>
  );
}
