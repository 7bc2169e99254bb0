/** Settings → Operators: booking's directory of people, kept by admins (list, filter,
 * create, edit, reset a password, deactivate and reactivate) and read by managers. Edit
 * controls follow `can.editDirectory`; booking refuses the same changes to anyone else. */
import { useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { directory, fieldErrors, type CallCenter, type Operator, type Role } from "../api";
import Dialog from "../components/Dialog";
import { FormActions } from "../components/DirectoryList";
import Notice from "../components/Notice";
import { can, useDirectory, usePrincipal } from "../session";

const ROLES: Role[] = ["admin", "call_centre", "clinic_staff", "manager"];
const EXTENSION = /^\d{2,8}$/;

type Status = "" | "active" | "inactive";

/** Active operators by extension: who gets the pop-up when it rings. */
function sharersByExtension(operators: Operator[]): Map<string, Operator[]> {
  const out = new Map<string, Operator[]>();
  for (const o of operators) {
    if (o.extension && o.active) out.set(o.extension, [...(out.get(o.extension) ?? []), o]);
  }
  return out;
}

export function OperatorsSettings() {
  const dir = useDirectory();
  const { role, operator_id: me } = usePrincipal();
  const editable = can.editDirectory(role);
  const { t } = useTranslation();
  const [search, setSearch] = useState("");
  const [roleFilter, setRoleFilter] = useState<Role | "">("");
  const [callCenter, setCallCenter] = useState("");
  const [extension, setExtension] = useState("");
  const [status, setStatus] = useState<Status>("");
  const [editing, setEditing] = useState<Operator | "new" | null>(null);
  const [resetting, setResetting] = useState<Operator | null>(null);
  const [deactivating, setDeactivating] = useState<Operator | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const sharers = useMemo(() => sharersByExtension(dir.operators), [dir.operators]);
  const shown = useMemo(() => {
    const text = search.trim().toLowerCase();
    return dir.operators.filter(
      (o) =>
        (!text || o.name.toLowerCase().includes(text) || (o.username ?? "").includes(text)) &&
        (!roleFilter || o.role === roleFilter) &&
        (!callCenter || (callCenter === "none" ? !o.call_center_id : o.call_center_id === callCenter)) &&
        (!extension.trim() || (o.extension ?? "").includes(extension.trim())) &&
        (!status || o.active === (status === "active")),
    );
  }, [dir.operators, search, roleFilter, callCenter, extension, status]);

  async function setActive(operator: Operator, active: boolean) {
    setError(null);
    try {
      await directory.updateOperator(operator.operator_id, { active });
      setNotice(t(active ? "operators.reactivated" : "operators.deactivated", { name: operator.name }));
      dir.reload();
    } catch (e) {
      setNotice(null);
      setError((e as Error).message);
    } finally {
      setDeactivating(null);
    }
  }

  const callCenterName = (id: string | null) => dir.callCenters.find((c) => c.call_center_id === id)?.name ?? "—";

  return (
    <section className="card" aria-labelledby="operators-title">
      <h2 id="operators-title">{t("operators.title")}</h2>
      <p className="muted">{t("operators.explain")}</p>
      <div className="filters" role="search" aria-label={t("operators.filters")}>
        <div className="filters-row">
          <label>
            {t("common.search")}
            <input
              type="search"
              value={search}
              placeholder={t("operators.searchPlaceholder")}
              onChange={(e) => setSearch(e.target.value)}
            />
          </label>
          <label>
            {t("operators.role")}
            <select value={roleFilter} onChange={(e) => setRoleFilter(e.target.value as Role | "")}>
              <option value="">{t("operators.allRoles")}</option>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`role.${r}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("operators.callCenter")}
            <select value={callCenter} onChange={(e) => setCallCenter(e.target.value)}>
              <option value="">{t("operators.allCallCenters")}</option>
              <option value="none">{t("operators.noCallCenter")}</option>
              {dir.callCenters.map((c) => (
                <option key={c.call_center_id} value={c.call_center_id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("operators.extension")}
            <input value={extension} inputMode="numeric" size={6} onChange={(e) => setExtension(e.target.value)} />
          </label>
          <label>
            {t("operators.status")}
            <select value={status} onChange={(e) => setStatus(e.target.value as Status)}>
              <option value="">{t("operators.allStatuses")}</option>
              <option value="active">{t("operators.active")}</option>
              <option value="inactive">{t("operators.inactive")}</option>
            </select>
          </label>
          {editable && (
            <button type="button" className="primary" onClick={() => setEditing("new")}>
              {t("operators.new")}
            </button>
          )}
        </div>
      </div>
      <Notice notice={notice} error={error} />
      <div className="table-wrap">
        <table className="data" data-testid="operators-table">
          <thead>
            <tr>
              <th scope="col">{t("operators.name")}</th>
              <th scope="col">{t("operators.username")}</th>
              <th scope="col">{t("operators.role")}</th>
              <th scope="col">{t("operators.callCenter")}</th>
              <th scope="col">{t("operators.extension")}</th>
              <th scope="col">{t("operators.status")}</th>
              {editable && <th scope="col">{t("operators.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {shown.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  {t("operators.noneMatch")}
                </td>
              </tr>
            )}
            {shown.map((o) => {
              const others = (o.extension ? (sharers.get(o.extension) ?? []) : []).filter(
                (s) => s.operator_id !== o.operator_id,
              );
              return (
                <tr key={o.operator_id} data-operator-id={o.operator_id} className={o.active ? "" : "inactive"}>
                  <th scope="row">{o.name}</th>
                  <td>{o.username ?? "—"}</td>
                  <td>{t(`role.${o.role}`)}</td>
                  <td>{callCenterName(o.call_center_id)}</td>
                  <td>
                    {o.extension ?? "—"}
                    {others.length > 0 && (
                      <>
                        <span className="badge">{t("extensions.shared")}</span>
                        <div className="muted small">
                          {t("operators.sharedWith", { names: others.map((s) => s.name).join(", ") })}
                        </div>
                      </>
                    )}
                  </td>
                  <td>
                    {o.active ? t("operators.active") : t("operators.inactive")}
                    {o.must_change_password && <div className="muted small">{t("operators.mustChange")}</div>}
                  </td>
                  {editable && (
                    <td className="row-actions">
                      <button type="button" className="small" onClick={() => setEditing(o)}>
                        {t("operators.edit")}
                      </button>{" "}
                      <button type="button" className="small" onClick={() => setResetting(o)}>
                        {t("operators.resetPassword")}
                      </button>{" "}
                      {/* An admin cannot lock themselves out from here. */}
                      {o.operator_id === me ? null : o.active ? (
                        <button type="button" className="small danger" onClick={() => setDeactivating(o)}>
                          {t("operators.deactivate")}
                        </button>
                      ) : (
                        <button type="button" className="small" onClick={() => void setActive(o, true)}>
                          {t("operators.reactivate")}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <Dialog
        title={editing === "new" ? t("operators.new") : t("operators.editTitle", { name: editing?.name ?? "" })}
        open={editing !== null}
        onClose={() => setEditing(null)}
      >
        {editing !== null && (
          <OperatorForm
            operator={editing === "new" ? null : editing}
            operators={dir.operators}
            callCenters={dir.callCenters}
            onSaved={(name) => {
              setEditing(null);
              setError(null);
              setNotice(t("operators.saved", { name }));
              dir.reload();
            }}
            onCancel={() => setEditing(null)}
          />
        )}
      </Dialog>

      <Dialog
        title={t("operators.resetTitle", { name: resetting?.name ?? "" })}
        open={resetting !== null}
        onClose={() => {
          setResetting(null);
          dir.reload();
        }}
      >
        {resetting && <ResetPassword operator={resetting} />}
      </Dialog>

      <Dialog
        title={t("operators.deactivateTitle", { name: deactivating?.name ?? "" })}
        open={deactivating !== null}
        onClose={() => setDeactivating(null)}
      >
        {deactivating && (
          <div className="dialog-body">
            <p>{t("operators.deactivateExplain", { name: deactivating.name })}</p>
            <div className="dialog-actions">
              <button type="button" onClick={() => setDeactivating(null)}>
                {t("operators.keep")}
              </button>
              <button type="button" className="primary danger" onClick={() => void setActive(deactivating, false)}>
                {t("operators.deactivate")}
              </button>
            </div>
          </div>
        )}
      </Dialog>
    </section>
  );
}

interface OperatorFields {
  name: string;
  username: string;
  password: string;
  role: Role;
  call_center_id: string;
  extension: string;
}

function OperatorForm({
  operator,
  operators,
  callCenters,
  onSaved,
  onCancel,
}: {
  operator: Operator | null;
  operators: Operator[];
  callCenters: CallCenter[];
  onSaved: (name: string) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [form, setForm] = useState<OperatorFields>({
    name: operator?.name ?? "",
    username: operator?.username ?? "",
    password: "",
    role: operator?.role ?? "call_centre",
    call_center_id: operator?.call_center_id ?? "",
    extension: operator?.extension ?? "",
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const set = (change: Partial<OperatorFields>) => setForm({ ...form, ...change });
  const sharing = operators.filter(
    (o) => o.active && form.extension.trim() && o.extension === form.extension.trim() && o.operator_id !== operator?.operator_id,
  );

  async function save(event: FormEvent) {
    event.preventDefault();
    const extension = form.extension.trim();
    if (extension && !EXTENSION.test(extension)) {
      setErrors({ extension: t("extensions.invalid") });
      return;
    }
    const fields = {
      name: form.name.trim(),
      role: form.role,
      call_center_id: form.call_center_id || null,
      extension: extension || null,
    };
    setBusy(true);
    try {
      if (operator) await directory.updateOperator(operator.operator_id, fields);
      else await directory.createOperator({ ...fields, username: form.username.trim(), password: form.password });
      onSaved(fields.name);
    } catch (e) {
      const byField = fieldErrors(e);
      setErrors(Object.keys(byField).length ? byField : { form: (e as Error).message });
    } finally {
      setBusy(false);
    }
  }

  const input = (name: keyof OperatorFields, label: string, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <label htmlFor={`operator-${name}`}>
      <span>{label}</span>
      <input
        id={`operator-${name}`}
        value={form[name]}
        aria-invalid={Boolean(errors[name])}
        aria-describedby={errors[name] ? `operator-${name}-error` : undefined}
        onChange={(e) => set({ [name]: e.target.value } as Partial<OperatorFields>)}
        {...props}
      />
      {errors[name] && (
        <span className="field-error" id={`operator-${name}-error`}>
          {errors[name]}
        </span>
      )}
    </label>
  );

  return (
    <form className="dialog-body" onSubmit={save}>
      <fieldset disabled={busy} className="plain">
        {input("name", t("operators.name"), { required: true, maxLength: 200 })}
        {!operator && input("username", t("operators.username"), { required: true, maxLength: 100, autoComplete: "off" })}
        {!operator &&
          input("password", t("operators.password"), { required: true, type: "password", autoComplete: "new-password" })}
        <label htmlFor="operator-role">
          <span>{t("operators.role")}</span>
          <select id="operator-role" value={form.role} onChange={(e) => set({ role: e.target.value as Role })}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor="operator-call_center_id">
          <span>{t("operators.callCenter")}</span>
          <select
            id="operator-call_center_id"
            value={form.call_center_id}
            aria-invalid={Boolean(errors.call_center_id)}
            onChange={(e) => set({ call_center_id: e.target.value })}
          >
            <option value="">{t("operators.noCallCenter")}</option>
            {callCenters
              .filter((c) => c.active || c.call_center_id === form.call_center_id)
              .map((c) => (
                <option key={c.call_center_id} value={c.call_center_id}>
                  {c.name}
                </option>
              ))}
          </select>
          {errors.call_center_id && <span className="field-error">{errors.call_center_id}</span>}
        </label>
        {input("extension", t("operators.extension"), { inputMode: "numeric", maxLength: 20 })}
        {sharing.length > 0 && (
          <p className="muted small" data-testid="extension-shared">
            {t("operators.willShare", { names: sharing.map((o) => o.name).join(", ") })}
          </p>
        )}
        <FormActions error={errors.form} onCancel={onCancel} submit={operator ? t("common.save") : t("operators.create")} />
      </fieldset>
    </form>
  );
}

function ResetPassword({ operator }: { operator: Operator }) {
  const { t } = useTranslation();
  const [password, setPassword] = useState("");
  const [given, setGiven] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function reset(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await directory.resetPassword(operator.operator_id, password || undefined);
      setGiven(result.temporary_password);
      setPassword("");
    } catch (e) {
      setError(fieldErrors(e).password ?? (e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  if (given !== null) {
    return (
      <div className="dialog-body">
        <p>{t("operators.temporaryIs", { name: operator.name })}</p>
        <p>
          <code className="temporary-password" data-testid="temporary-password">
            {given}
          </code>
        </p>
        <p className="muted small">{t("operators.temporaryOnce")}</p>
      </div>
    );
  }
  return (
    <form className="dialog-body" onSubmit={reset}>
      <p>{t("operators.resetExplain", { name: operator.name })}</p>
      <label htmlFor="reset-password">
        <span>{t("operators.temporaryPassword")}</span>
        <input
          id="reset-password"
          type="text"
          autoComplete="off"
          value={password}
          placeholder={t("operators.generatePlaceholder")}
          aria-invalid={Boolean(error)}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <Notice error={error} />
      <div className="dialog-actions">
        <button type="submit" className="primary danger" disabled={busy}>
          {t("operators.resetPassword")}
        </button>
      </div>
    </form>
  );
}
