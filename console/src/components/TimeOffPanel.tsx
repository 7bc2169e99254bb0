/** The body of a time-off dialog (a practitioner's absences, a clinic's closed days): the
 * entries with Remove, the form to add one (the children), the outcome, and the booked
 * appointments the time off strands, for an operator to reschedule. */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import Notice from "./Notice";
import ToRescheduleList from "./ToRescheduleList";

/** One absence or closure as the list shows it. */
export interface TimeOffEntry {
  id: string;
  when: string;
  reason: string;
}

export default function TimeOffPanel({
  entries,
  label,
  empty,
  onRemove,
  notice,
  error,
  stranded,
  children,
}: {
  /** Null while loading. */
  entries: TimeOffEntry[] | null;
  label: string;
  empty: string;
  onRemove: (id: string) => void;
  notice: string | null;
  error: string | null;
  /** Which stranded appointments to list, and the list's version (bumped on each change). */
  stranded: { clinicId?: string; practitionerId?: string; version: number; title: string };
  children: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <div className="dialog-body">
      <p className="muted small">{t("timeOff.explain")}</p>
      {entries && entries.length === 0 && <p className="muted">{empty}</p>}
      {entries && entries.length > 0 && (
        <ul className="plain time-off" aria-label={label}>
          {entries.map((e) => (
            <li key={e.id}>
              <strong>{e.when}</strong> {e.reason && <span className="muted">{e.reason}</span>}{" "}
              <button type="button" className="small" onClick={() => onRemove(e.id)}>
                {t("timeOff.remove")}
              </button>
            </li>
          ))}
        </ul>
      )}
      {children}
      <Notice notice={notice} error={error} />
      <ToRescheduleList {...stranded} />
    </div>
  );
}
