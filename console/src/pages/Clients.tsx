/** Clients: search, profile (view, edit, timeline), new client, merge with a side-by-side preview. */
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import {
  clients,
  crm,
  notifications,
  type Appointment,
  type Client,
  type ClientProfile,
  type MergePreview,
  type NewClient,
  type TimelineEntry,
} from "../api";
import ClientPicker from "../components/ClientPicker";
import NotificationList from "../components/NotificationList";
import CallButton from "../components/CallButton";
import { dateIn, dateTime, meetingMethodLabel, phone } from "../format";
import { can, useDirectory, usePrincipal } from "../session";

export default function ClientsPage() {
  const principal = usePrincipal();
  const [params, setParams] = useSearchParams();
  const [query, setQuery] = useState(params.get("q") ?? "");
  const [results, setResults] = useState<Client[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const q = params.get("q") ?? "";
    if (!q.trim()) {
      setResults(null);
      return;
    }
    clients
      .search(q)
      .then((items) => {
        setResults(items);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
  }, [params]);

  function submit(event: FormEvent) {
    event.preventDefault();
    setParams(query.trim() ? { q: query.trim() } : {});
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1>Clients</h1>
        {can.editClients(principal.role) && (
          <div className="actions">
            <Link className="button" to="/clients/new">
              + New client
            </Link>
            <Link className="button" to="/clients/merge">
              Merge duplicates
            </Link>
          </div>
        )}
      </div>
      <form className="searchbar" role="search" onSubmit={submit}>
        <label className="search">
          <span className="sr-only">Search clients</span>
          <input
            type="search"
            autoFocus
            placeholder="Name, phone (any format) or email"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </label>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {results && (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Mobile</th>
                <th scope="col">Other phones</th>
                <th scope="col">Email</th>
                <th scope="col">Date of birth</th>
              </tr>
            </thead>
            <tbody>
              {results.map((c) => (
                <tr key={c.client_id}>
                  <td>
                    <Link to={`/clients/${encodeURIComponent(c.client_id)}`}>{c.display_name}</Link>
                  </td>
                  <td>{phone(c.mobile)}</td>
                  <td>{c.phones.map(phone).join(", ")}</td>
                  <td>{c.email}</td>
                  <td>{c.date_of_birth ?? ""}</td>
                </tr>
              ))}
              {results.length === 0 && (
                <tr>
                  <td colSpan={5} className="empty">
                    No clients found.{" "}
                    {can.editClients(principal.role) && <Link to="/clients/new">Add a new client</Link>}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function ClientForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial: NewClient;
  submitLabel: string;
  onSubmit: (value: NewClient) => Promise<void>;
  onCancel?: () => void;
}) {
  const [value, setValue] = useState<NewClient>(initial);
  const [phones, setPhones] = useState((initial.phones ?? []).join(", "));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (change: Partial<NewClient>) => setValue({ ...value, ...change });

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!value.email?.trim() && !value.mobile?.trim()) {
      setError("Give an email or a mobile number.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSubmit({
        ...value,
        email: value.email?.trim() || null,
        mobile: value.mobile?.trim() || null,
        date_of_birth: value.date_of_birth || null,
        phones: phones
          .split(",")
          .map((p) => p.trim())
          .filter(Boolean),
      });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card client-form" onSubmit={submit}>
      <div className="form-row">
        <label>
          First name *
          <input required value={value.first_name} onChange={(e) => set({ first_name: e.target.value })} />
        </label>
        <label>
          Last name *
          <input required value={value.last_name} onChange={(e) => set({ last_name: e.target.value })} />
        </label>
      </div>
      <div className="form-row">
        <label>
          Mobile
          <input type="tel" value={value.mobile ?? ""} onChange={(e) => set({ mobile: e.target.value })} />
        </label>
        <label>
          Email
          <input type="email" value={value.email ?? ""} onChange={(e) => set({ email: e.target.value })} />
        </label>
      </div>
      <div className="form-row">
        <label>
          Other phones (comma separated)
          <input value={phones} onChange={(e) => setPhones(e.target.value)} />
        </label>
        <label>
          Date of birth
          <input
            type="date"
            value={value.date_of_birth ?? ""}
            onChange={(e) => set({ date_of_birth: e.target.value })}
          />
        </label>
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={value.sms_consent ?? false}
          onChange={(e) => set({ sms_consent: e.target.checked })}
        />
        Agrees to SMS notifications
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={value.email_consent ?? true}
          onChange={(e) => set({ email_consent: e.target.checked })}
        />
        Email notifications (off once they unsubscribe)
      </label>
      <label className="inline">
        Notification language
        <select value={value.language ?? "ru"} onChange={(e) => set({ language: e.target.value as NewClient["language"] })}>
          <option value="ru">Russian</option>
          <option value="en">English</option>
        </select>
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="form-actions">
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button className="primary" type="submit" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

export function NewClientPage() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  return (
    <div className="page narrow">
      <h1>New client</h1>
      <ClientForm
        initial={{ first_name: "", last_name: "", email: "", mobile: params.get("phone") ?? "", sms_consent: false }}
        submitLabel="Create client"
        onSubmit={async (value) => {
          const created = await clients.create(value);
          navigate(`/clients/${encodeURIComponent(created.client_id)}`);
        }}
      />
    </div>
  );
}

function appointmentEntry(a: Appointment): TimelineEntry {
  return {
    kind: "appointment",
    at: a.starts_at,
    time_zone: a.time_zone,
    title: `${a.status === "cancelled" ? "Cancelled: " : ""}${a.service_name} with ${a.practitioner_name}`,
    detail: [
      a.clinic_name,
      meetingMethodLabel[a.meeting_method] ?? a.meeting_method,
      a.call_center_name ? `booked by ${a.call_center_name}` : "",
      a.cancellation_reason ?? "",
    ]
      .filter(Boolean)
      .join(" · "),
  };
}

export function ClientProfilePage() {
  const { clientId = "" } = useParams();
  const principal = usePrincipal();
  const navigate = useNavigate();
  const [profile, setProfile] = useState<ClientProfile | null>(null);
  const [touches, setTouches] = useState<TimelineEntry[] | null>(null);
  const [touchesNote, setTouchesNote] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const chainZone = useDirectory().clinics[0]?.time_zone ?? "UTC";

  useEffect(() => {
    clients
      .get(clientId)
      .then((p) => {
        setProfile(p);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
    crm
      .touches(clientId)
      .then((t) => {
        setTouches(t);
        setTouchesNote(null);
      })
      .catch(() => {
        setTouches([]);
        setTouchesNote("Call history is unavailable right now.");
      });
  }, [clientId, version]);

  if (error) {
    return (
      <div className="page">
        <p className="error" role="alert">
          {error}
        </p>
      </div>
    );
  }
  if (!profile) return <div className="page">Loading…</div>;

  const timeline = [
    ...(touches ?? []),
    ...profile.upcoming.map(appointmentEntry),
    ...profile.past.map(appointmentEntry),
  ].sort((a, b) => b.at.localeCompare(a.at));

  return (
    <div className="page">
      <div className="page-head">
        <h1>{profile.display_name}</h1>
        <div className="actions">
          {can.book(principal.role) && (
            <Link className="button primary" to={`/booking?client_id=${encodeURIComponent(profile.client_id)}`}>
              Book appointment
            </Link>
          )}
          {can.editClients(principal.role) && !editing && (
            <>
              <button type="button" onClick={() => setEditing(true)}>
                Edit
              </button>
              <Link className="button" to={`/clients/merge?primary=${encodeURIComponent(profile.client_id)}`}>
                Merge a duplicate
              </Link>
            </>
          )}
        </div>
      </div>
      <div className="profile-grid">
        {editing ? (
          <ClientForm
            initial={{
              first_name: profile.first_name,
              last_name: profile.last_name,
              email: profile.email ?? "",
              mobile: profile.mobile ?? "",
              sms_consent: profile.sms_consent,
              email_consent: profile.email_consent ?? true,
              language: profile.language ?? "ru",
              date_of_birth: profile.date_of_birth,
              phones: profile.phones,
            }}
            submitLabel="Save changes"
            onCancel={() => setEditing(false)}
            onSubmit={async (value) => {
              await clients.update(profile.client_id, value);
              setEditing(false);
              setVersion((v) => v + 1);
            }}
          />
        ) : (
          <section className="card" aria-label="Profile">
            <dl className="facts">
              <dt>Mobile</dt>
              <dd>
                {phone(profile.mobile) || "—"} <CallButton number={profile.mobile} />
              </dd>
              <dt>Other phones</dt>
              <dd>
                {profile.phones.length === 0
                  ? "—"
                  : profile.phones.map((p) => (
                      <span key={p} className="nowrap">
                        {phone(p)} <CallButton number={p} />{" "}
                      </span>
                    ))}
              </dd>
              <dt>Email</dt>
              <dd>{profile.email ?? "—"}</dd>
              <dt>Date of birth</dt>
              <dd>{profile.date_of_birth ?? "—"}</dd>
              <dt>SMS</dt>
              <dd>{profile.sms_consent ? "agrees" : "no"}</dd>
              <dt>Email notifications</dt>
              <dd>{profile.email_consent === false ? "unsubscribed" : profile.email ? "yes" : "—"}</dd>
              <dt>Language</dt>
              <dd>{profile.language === "en" ? "English" : "Russian"}</dd>
            </dl>
          </section>
        )}
        <section className="card" aria-labelledby="upcoming-title">
          <h2 id="upcoming-title">Upcoming appointments</h2>
          {profile.upcoming.length === 0 && <p className="muted">None.</p>}
          <ul className="plain">
            {profile.upcoming.map((a) => (
              <li key={a.appointment_id} className={a.editable ? "" : "foreign"}>
                <strong>{dateTime(a.starts_at, a.time_zone)}</strong> {a.service_name} · {a.practitioner_name} ·{" "}
                {a.clinic_name}
                {!a.editable && <span className="muted small"> · {a.call_center_name} (read only)</span>}
                {a.editable && (
                  <button
                    type="button"
                    className="link"
                    onClick={() =>
                      navigate(`/booking?clinic_id=${a.clinic_id}&date=${dateIn(a.starts_at, a.time_zone)}`)
                    }
                  >
                    open in calendar
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      </div>
      <section className="card" aria-labelledby="notifications-title">
        <h2 id="notifications-title">Notifications</h2>
        <NotificationList
          load={() => notifications.forClient(profile.client_id)}
          timeZone={chainZone}
          reloadKey={version}
        />
      </section>
      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        {touchesNote && <p className="muted small">{touchesNote}</p>}
        <ol className="timeline">
          {timeline.map((entry, i) => (
            <li key={i} className={`tl tl-${entry.kind}`}>
              <span className="tl-at">{entry.at ? dateTime(entry.at, entry.time_zone ?? chainZone) : ""}</span>
              <span className="tl-kind">{entry.kind === "touch" ? "Call" : "Appointment"}</span>
              <span className="tl-title">{entry.title}</span>
              <span className="muted small">{entry.detail}</span>
            </li>
          ))}
          {timeline.length === 0 && <li className="muted">Nothing yet.</li>}
        </ol>
      </section>
    </div>
  );
}

const PREVIEW_FIELDS: [string, string][] = [
  ["display_name", "Name"],
  ["mobile", "Mobile"],
  ["phones", "Other phones"],
  ["email", "Email"],
  ["date_of_birth", "Date of birth"],
  ["sms_consent", "SMS"],
];

function show(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => phone(String(v))).join(", ");
  if (typeof value === "boolean") return value ? "agrees" : "no";
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "string" ? phone(value) : String(value);
}

export function MergeClientsPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [primary, setPrimary] = useState<Client | null>(null);
  const [duplicate, setDuplicate] = useState<Client | null>(null);
  const [preview, setPreview] = useState<MergePreview | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const id = params.get("primary");
    if (id) clients.get(id).then(setPrimary).catch((e: Error) => setError(e.message));
  }, [params]);

  useEffect(() => {
    setPreview(null);
    if (!primary || !duplicate) return;
    clients
      .mergePreview(primary.client_id, duplicate.client_id)
      .then((p) => {
        setPreview(p);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
  }, [primary, duplicate]);

  async function merge() {
    if (!primary || !duplicate) return;
    try {
      await clients.merge(primary.client_id, duplicate.client_id);
      navigate(`/clients/${encodeURIComponent(primary.client_id)}`);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <div className="page">
      <h1>Merge duplicate clients</h1>
      <p className="muted">
        The primary record stays; the duplicate's appointments, phones and missing details move to it.
      </p>
      <div className="merge-pick">
        <section className="card">
          <h2>Primary (kept)</h2>
          {primary ? (
            <p>
              <strong>{primary.display_name}</strong>{" "}
              <button type="button" className="link" onClick={() => setPrimary(null)}>
                change
              </button>
            </p>
          ) : (
            <ClientPicker label="Find the primary client" onPick={setPrimary} exclude={duplicate ? [duplicate.client_id] : []} />
          )}
        </section>
        <section className="card">
          <h2>Duplicate (merged in)</h2>
          {duplicate ? (
            <p>
              <strong>{duplicate.display_name}</strong>{" "}
              <button type="button" className="link" onClick={() => setDuplicate(null)}>
                change
              </button>
            </p>
          ) : (
            <ClientPicker label="Find the duplicate" onPick={setDuplicate} exclude={primary ? [primary.client_id] : []} />
          )}
        </section>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {preview && (
        <section className="card" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <div className="table-wrap">
            <table className="data merge-preview">
              <thead>
                <tr>
                  <th scope="col" />
                  <th scope="col">Primary</th>
                  <th scope="col">Duplicate</th>
                  <th scope="col">After merge</th>
                </tr>
              </thead>
              <tbody>
                {PREVIEW_FIELDS.map(([key, label]) => (
                  <tr key={key}>
                    <th scope="row">{label}</th>
                    <td>{show(preview.primary[key])}</td>
                    <td>{show(preview.duplicate[key])}</td>
                    <td className={show(preview.result[key]) !== show(preview.primary[key]) ? "changed" : undefined}>
                      {show(preview.result[key])}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p>
            {String(preview.appointments_to_move ?? 0)} appointment(s) and {String(preview.attendances_to_move ?? 0)}{" "}
            attendance(s) move to the primary.
          </p>
          <div className="form-actions">
            <button type="button" className="primary" onClick={() => void merge()}>
              Merge into {primary?.display_name}
            </button>
          </div>
        </section>
      )}
    </div>
  );
}
