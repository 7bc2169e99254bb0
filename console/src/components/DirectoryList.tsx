/** Pieces every directory list in Settings shares (clinics, practitioners, services, call
 * centers): the outcome of saving or (de)activating an entry, the row's actions, and the
 * dialog that creates or edits one. */
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useDirectory } from "../session";
import Dialog from "./Dialog";
import Notice from "./Notice";

/** The locale section of a list, holding its `new`, `editTitle`, `saved`, `deactivated` and
 * `reactivated` texts. */
export type Section = "clinics" | "practitioners" | "services" | "callCenters";

/** What a list reports: an entry saved, deactivated or reactivated, or booking's refusal. */
export function useListOutcome(section: Section) {
  const dir = useDirectory();
  const { t } = useTranslation();
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const saved = (name: string) => {
    setError(null);
    setNotice(t(`${section}.saved`, { name }));
    dir.reload();
  };
  const setActive = async (name: string, active: boolean, update: (active: boolean) => Promise<unknown>) => {
    try {
      await update(active);
      setError(null);
      setNotice(t(active ? `${section}.reactivated` : `${section}.deactivated`, { name }));
      dir.reload();
    } catch (e) {
      setNotice(null);
      setError((e as Error).message);
    }
  };
  return { notice, error, saved, setActive };
}

/** Edit, the list's own actions (children), and Deactivate or Reactivate. */
export function RowActions({
  active,
  onEdit,
  onToggle,
  children,
}: {
  active: boolean;
  onEdit: () => void;
  onToggle: () => void;
  children?: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <td className="row-actions">
      <button type="button" className="small" onClick={onEdit}>
        {t("operators.edit")}
      </button>{" "}
      {children}
      <button type="button" className={active ? "small danger" : "small"} onClick={onToggle}>
        {active ? t("operators.deactivate") : t("operators.reactivate")}
      </button>
    </td>
  );
}

/** The dialog creating (`"new"`) or editing an entry; `children` draws the form. */
export function EditDialog<T extends { name: string }>({
  section,
  editing,
  onClose,
  children,
}: {
  section: Section;
  editing: T | "new" | null;
  onClose: () => void;
  children: (entry: T | null) => ReactNode;
}) {
  const { t } = useTranslation();
  const title = editing === "new" ? t(`${section}.new`) : t(`${section}.editTitle`, { name: editing?.name ?? "" });
  return (
    <Dialog title={title} open={editing !== null} onClose={onClose}>
      {editing !== null && children(editing === "new" ? null : editing)}
    </Dialog>
  );
}

/** A searchable list of one part of the directory: title, search (and `filters`), New for
 * those who edit, the outcome line, and the table of `rows` under `headers` plus status and
 * actions; `children` are the list's dialogs. */
export function ListShell({
  section,
  search,
  onSearch,
  filters,
  editable,
  onNew,
  outcome,
  headers,
  shown,
  rows,
  children,
}: {
  section: Exclude<Section, "callCenters">;
  search: string;
  onSearch: (text: string) => void;
  filters?: ReactNode;
  editable: boolean;
  onNew: () => void;
  outcome: { notice: string | null; error: string | null };
  headers: string[];
  /** How many rows match. */
  shown: number;
  rows: ReactNode;
  children?: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <section className="card" aria-labelledby={`${section}-title`}>
      <h2 id={`${section}-title`}>{t(`${section}.title`)}</h2>
      <p className="muted">{t(`${section}.explain`)}</p>
      <div className="filters-row" role="search" aria-label={t(`${section}.filters`)}>
        <label>
          {t("common.search")}
          <input type="search" value={search} placeholder={t(`${section}.searchPlaceholder`)} onChange={(e) => onSearch(e.target.value)} />
        </label>
        {filters}
        {editable && (
          <button type="button" className="primary" onClick={onNew}>
            {t(`${section}.new`)}
          </button>
        )}
      </div>
      <Notice notice={outcome.notice} error={outcome.error} />
      <div className="table-wrap">
        <table className="data" data-testid={`${section}-table`}>
          <thead>
            <tr>
              {headers.map((h) => (
                <th scope="col" key={h}>
                  {h}
                </th>
              ))}
              <th scope="col">{t("operators.status")}</th>
              {editable && <th scope="col">{t("operators.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {shown === 0 && (
              <tr>
                <td colSpan={headers.length + 2} className="muted">
                  {t(`${section}.noneMatch`)}
                </td>
              </tr>
            )}
            {rows}
          </tbody>
        </table>
      </div>
      {children}
    </section>
  );
}

/** The end of an entry's form: why it was refused, then Cancel and Save (or Create …). */
export function FormActions({ error, onCancel, submit }: { error?: string; onCancel: () => void; submit: string }) {
  const { t } = useTranslation();
  return (
    <>
      <Notice error={error} />
      <div className="dialog-actions">
        <button type="button" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" className="primary">
          {submit}
        </button>
      </div>
    </>
  );
}
