/** The body of a time-off dialog (a practitioner's absences, a clinic's closed days): the
 * entries with Remove, the form to add one (the children), the outcome, and the booked
 * appointments the time off strands, for an operator to reschedule. */
import { useEffect, useState, type ReactNode } from "react";
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

/** A time-off list's state and its two changes (absences of a practitioner, closed days of
 * a clinic): the entries of ``owner`` read again after each change, the outcome of the
 * last one as a notice or an error, and the form's first day, last day and reason, cleared
 * once an entry is added. */
export function useTimeOff<T, B>(
  owner: string,
  api: {
    load: (owner: string) => Promise<T[]>;
    add: (owner: string, body: B) => Promise<T>;
    remove: (owner: string, id: string) => Promise<unknown>;
    idOf: (entry: T) => string;
    added: (entry: T) => string;
    removed: (entry: T) => string;
  },
) {
  const [items, setItems] = useState<T[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [startsOn, setStartsOn] = useState("");
  const [endsOn, setEndsOn] = useState("");
  const [reason, setReason] = useState("");

  useEffect(() => {
    let live = true;
    api
      .load(owner)
      .then((found) => live && setItems(found))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
    // Read again for another owner and after each change (the api functions are fixed).
  }, [owner, version]);

  function done(message: string | null) {
    setNotice(message);
    setError(null);
    setVersion((v) => v + 1);
  }

  function failed(e: unknown) {
    setNotice(null);
    setError((e as Error).message);
  }

  async function add(body: B): Promise<void> {
    try {
      done(api.added(await api.add(owner, body)));
      setStartsOn("");
      setEndsOn("");
      setReason("");
    } catch (e) {
      failed(e);
    }
  }

  async function remove(id: string): Promise<void> {
    const entry = items?.find((i) => api.idOf(i) === id);
    try {
      await api.remove(owner, id);
      done(entry ? api.removed(entry) : null);
    } catch (e) {
      failed(e);
    }
  }

  const form = { startsOn, setStartsOn, endsOn, setEndsOn, reason, setReason };
  return { items, notice, error, version, add, remove, form };
}
