/** Settings → Call centers: the chain's call centers, kept by admins (create, rename,
 * deactivate and reactivate) and read by managers; edit controls follow
 * `can.editDirectory`. */
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { directory, fieldErrors, type CallCenter } from "../api";
import { EditDialog, FormActions, RowActions, useListOutcome } from "../components/DirectoryList";
import Notice from "../components/Notice";
import { can, useDirectory, usePrincipal } from "../session";

export function CallCentersSettings() {
  const dir = useDirectory();
  const { role } = usePrincipal();
  const editable = can.editDirectory(role);
  const { t } = useTranslation();
  const [editing, setEditing] = useState<CallCenter | "new" | null>(null);
  const outcome = useListOutcome("callCenters");

  return (
    <section className="card" aria-labelledby="call-centers-title">
      <h2 id="call-centers-title">{t("callCenters.title")}</h2>
      <p className="muted">{t("callCenters.explain")}</p>
      {editable && (
        <div className="form-actions">
          <button type="button" className="primary" onClick={() => setEditing("new")}>
            {t("callCenters.new")}
          </button>
        </div>
      )}
      <Notice notice={outcome.notice} error={outcome.error} />
      <div className="table-wrap">
        <table className="data" data-testid="call-centers-table">
          <thead>
            <tr>
              <th scope="col">{t("callCenters.name")}</th>
              <th scope="col">{t("callCenters.kind")}</th>
              <th scope="col">{t("callCenters.operators")}</th>
              <th scope="col">{t("operators.status")}</th>
              {editable && <th scope="col">{t("operators.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {dir.callCenters.map((c) => (
              <tr key={c.call_center_id} className={c.active ? "" : "inactive"}>
                <th scope="row">{c.name}</th>
                <td>{t(`callCenters.kinds.${c.kind}`)}</td>
                <td className="num">
                  {dir.operators.filter((o) => o.active && o.call_center_id === c.call_center_id).length}
                </td>
                <td>{c.active ? t("operators.active") : t("operators.inactive")}</td>
                {editable && (
                  <RowActions
                    active={c.active}
                    onEdit={() => setEditing(c)}
                    onToggle={() =>
                      void outcome.setActive(c.name, !c.active, (active) => directory.updateCallCenter(c.call_center_id, { active }))
                    }
                  />
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <EditDialog section="callCenters" editing={editing} onClose={() => setEditing(null)}>
        {(callCenter) => (
          <CallCenterForm
            callCenter={callCenter}
            onSaved={(name) => {
              setEditing(null);
              outcome.saved(name);
            }}
            onCancel={() => setEditing(null)}
          />
        )}
      </EditDialog>
    </section>
  );
}

function CallCenterForm({
  callCenter,
  onSaved,
  onCancel,
}: {
  callCenter: CallCenter | null;
  onSaved: (name: string) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [name, setName] = useState(callCenter?.name ?? "");
  const [kind, setKind] = useState<CallCenter["kind"]>(callCenter?.kind ?? "internal");
  const [errors, setErrors] = useState<Record<string, string>>({});

  async function save(event: FormEvent) {
    event.preventDefault();
    try {
      if (callCenter) await directory.updateCallCenter(callCenter.call_center_id, { name: name.trim(), kind });
      else await directory.createCallCenter({ name: name.trim(), kind });
      onSaved(name.trim());
    } catch (e) {
      const byField = fieldErrors(e);
      setErrors(Object.keys(byField).length ? byField : { form: (e as Error).message });
    }
  }

  return (
    <form className="dialog-body" onSubmit={save}>
      <label htmlFor="call-center-name">
        <span>{t("callCenters.name")}</span>
        <input
          id="call-center-name"
          required
          maxLength={200}
          value={name}
          aria-invalid={Boolean(errors.name)}
          onChange={(e) => setName(e.target.value)}
        />
        {errors.name && <span className="field-error">{errors.name}</span>}
      </label>
      <label htmlFor="call-center-kind">
        <span>{t("callCenters.kind")}</span>
        <select id="call-center-kind" value={kind} onChange={(e) => setKind(e.target.value as CallCenter["kind"])}>
          <option value="internal">{t("callCenters.kinds.internal")}</option>
          <option value="external">{t("callCenters.kinds.external")}</option>
        </select>
      </label>
      <FormActions error={errors.form} onCancel={onCancel} submit={callCenter ? t("common.save") : t("callCenters.create")} />
    </form>
  );
}
