/** Clients: search, profile (view, edit, timeline), new client, merge with a side-by-side preview. */
import { useEffect, useState, type FormEvent } from "react";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
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
import { calendarDay, dateIn, dateTime, languageName, phone } from "../format";
import { can, useDirectory, usePrincipal } from "../session";

export default function ClientsPage() {
  const principal = usePrincipal();
  const { t } = useTranslation();
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
    let live = true;
    clients
      .search(q)
      .then((items) => {
        if (!live) return;
        setResults(items);
        setError(null);
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [params]);

  function submit(event: FormEvent) {
    event.preventDefault();
    setParams(query.trim() ? { q: query.trim() } : {});
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("clients.title")}</h1>
        {can.editClients(principal.role) && (
          <div className="actions">
            <Link className="button" to="/clients/new">
              + {t("clients.newClient")}
            </Link>
            <Link className="button" to="/clients/merge">
              {t("clients.mergeDuplicates")}
            </Link>
          </div>
        )}
      </div>
      <form className="searchbar" role="search" onSubmit={submit}>
        <label className="search">
          <span className="sr-only">{t("clients.search")}</span>
          <input
            type="search"
            autoFocus
            placeholder={t("clients.searchPlaceholder")}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </label>
        <button type="submit" className="primary">
          {t("common.search")}
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
                <th scope="col">{t("client.name")}</th>
                <th scope="col">{t("client.mobile")}</th>
                <th scope="col">{t("client.otherPhones")}</th>
                <th scope="col">{t("client.email")}</th>
                <th scope="col">{t("client.dateOfBirth")}</th>
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
                  <td>{c.date_of_birth ? calendarDay(c.date_of_birth) : ""}</td>
                </tr>
              ))}
              {results.length === 0 && (
                <tr>
                  <td colSpan={5} className="empty">
                    {t("clients.noneFound")}{" "}
                    {can.editClients(principal.role) && <Link to="/clients/new">{t("clients.addNew")}</Link>}
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
  const { t } = useTranslation();
  const set = (change: Partial<NewClient>) => setValue({ ...value, ...change });

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!value.email?.trim() && !value.mobile?.trim()) {
      setError(t("clients.emailOrMobile"));
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
          {t("client.firstName")} *
          <input required value={value.first_name} onChange={(e) => set({ first_name: e.target.value })} />
        </label>
        <label>
          {t("client.lastName")} *
          <input required value={value.last_name} onChange={(e) => set({ last_name: e.target.value })} />
        </label>
      </div>
      <div className="form-row">
        <label>
          {t("client.mobile")}
          <input type="tel" value={value.mobile ?? ""} onChange={(e) => set({ mobile: e.target.value })} />
        </label>
        <label>
          {t("client.email")}
          <input type="email" value={value.email ?? ""} onChange={(e) => set({ email: e.target.value })} />
        </label>
      </div>
      <div className="form-row">
        <label>
          {t("clients.otherPhonesInput")}
          <input value={phones} onChange={(e) => setPhones(e.target.value)} />
        </label>
        <label>
          {t("client.dateOfBirth")}
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
        {t("clients.smsConsent")}
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={value.email_consent ?? true}
          onChange={(e) => set({ email_consent: e.target.checked })}
        />
        {t("clients.emailConsent")}
      </label>
      <label className="inline">
        {t("clients.notificationLanguage")}
        <select value={value.language ?? "ru"} onChange={(e) => set({ language: e.target.value as NewClient["language"] })}>
          <option value="ru">{languageName("ru")}</option>
          <option value="en">{languageName("en")}</option>
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
            {t("common.cancel")}
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
  const { t } = useTranslation();
  return (
    <div className="page narrow">
      <h1>{t("clients.newClient")}</h1>
      <ClientForm
        initial={{ first_name: "", last_name: "", email: "", mobile: params.get("phone") ?? "", sms_consent: false }}
        submitLabel={t("clients.create")}
        onSubmit={async (value) => {
          const created = await clients.create(value);
          navigate(`/clients/${encodeURIComponent(created.client_id)}`);
        }}
      />
    </div>
  );
}

function appointmentEntry(a: Appointment, t: TFunction): TimelineEntry {
  const what = { service: a.service_name, practitioner: a.practitioner_name };
  return {
    kind: "appointment",
    at: a.starts_at,
    time_zone: a.time_zone,
    title: a.status === "cancelled" ? t("timeline.cancelledWith", what) : t("timeline.serviceWith", what),
    detail: [
      a.clinic_name,
      t(`meetingMethod.${a.meeting_method}`),
      a.call_center_name ? t("timeline.bookedBy", { callCenter: a.call_center_name }) : "",
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
  const { t, i18n } = useTranslation();
  const [profile, setProfile] = useState<ClientProfile | null>(null);
  const [touches, setTouches] = useState<TimelineEntry[] | null>(null);
  const [touchesFailed, setTouchesFailed] = useState(false);
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
        setTouchesFailed(false);
      })
      .catch(() => {
        setTouches([]);
        setTouchesFailed(true);
      });
    // The call history is worded as it is read: read it again in a newly chosen language.
  }, [clientId, version, i18n.language]);

  if (error) {
    return (
      <div className="page">
        <p className="error" role="alert">
          {error}
        </p>
      </div>
    );
  }
  if (!profile) return <div className="page">{t("common.loading")}</div>;

  const timeline = [
    ...(touches ?? []),
    ...profile.upcoming.map((a) => appointmentEntry(a, t)),
    ...profile.past.map((a) => appointmentEntry(a, t)),
  ].sort((a, b) => b.at.localeCompare(a.at));

  return (
    <div className="page">
      <div className="page-head">
        <h1>{profile.display_name}</h1>
        <div className="actions">
          {can.book(principal.role) && (
            <Link className="button primary" to={`/booking?client_id=${encodeURIComponent(profile.client_id)}`}>
              {t("common.bookAppointment")}
            </Link>
          )}
          {can.editClients(principal.role) && !editing && (
            <>
              <button type="button" onClick={() => setEditing(true)}>
                {t("clients.edit")}
              </button>
              <Link className="button" to={`/clients/merge?primary=${encodeURIComponent(profile.client_id)}`}>
                {t("clients.mergeADuplicate")}
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
            submitLabel={t("clients.saveChanges")}
            onCancel={() => setEditing(false)}
            onSubmit={async (value) => {
              await clients.update(profile.client_id, value);
              setEditing(false);
              setVersion((v) => v + 1);
            }}
          />
        ) : (
          <section className="card" aria-label={t("clients.profile")}>
            <dl className="facts">
              <dt>{t("client.mobile")}</dt>
              <dd>
                {phone(profile.mobile) || "—"} <CallButton number={profile.mobile} />
              </dd>
              <dt>{t("client.otherPhones")}</dt>
              <dd>
                {profile.phones.length === 0
                  ? "—"
                  : profile.phones.map((p) => (
                      <span key={p} className="nowrap">
                        {phone(p)} <CallButton number={p} />{" "}
                      </span>
                    ))}
              </dd>
              <dt>{t("client.email")}</dt>
              <dd>{profile.email ?? "—"}</dd>
              <dt>{t("client.dateOfBirth")}</dt>
              <dd>{profile.date_of_birth ? calendarDay(profile.date_of_birth) : "—"}</dd>
              <dt>{t("client.sms")}</dt>
              <dd>{profile.sms_consent ? t("client.agrees") : t("common.no")}</dd>
              <dt>{t("client.emailNotifications")}</dt>
              <dd>
                {profile.email_consent === false ? t("client.unsubscribed") : profile.email ? t("common.yes") : "—"}
              </dd>
              <dt>{t("client.language")}</dt>
              <dd>{languageName(profile.language ?? "ru")}</dd>
            </dl>
          </section>
        )}
        <section className="card" aria-labelledby="upcoming-title">
          <h2 id="upcoming-title">{t("clients.upcoming")}</h2>
          {profile.upcoming.length === 0 && <p className="muted">{t("common.none")}</p>}
          <ul className="plain">
            {profile.upcoming.map((a) => (
              <li key={a.appointment_id} className={a.editable ? "" : "foreign"}>
                <strong>{dateTime(a.starts_at, a.time_zone)}</strong> {a.service_name} · {a.practitioner_name} ·{" "}
                {a.clinic_name}
                {!a.editable && <span className="muted small"> · {t("clients.readOnlyBy", { callCenter: a.call_center_name })}</span>}
                {a.editable && (
                  <button
                    type="button"
                    className="link"
                    onClick={() =>
                      navigate(`/booking?clinic_id=${a.clinic_id}&date=${dateIn(a.starts_at, a.time_zone)}`)
                    }
                  >
                    {t("clients.openInCalendar")}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      </div>
      <section className="card" aria-labelledby="notifications-title">
        <h2 id="notifications-title">{t("booking.notifications")}</h2>
        <NotificationList
          load={() => notifications.forClient(profile.client_id)}
          timeZone={chainZone}
          reloadKey={version}
        />
      </section>
      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">{t("timeline.title")}</h2>
        {touchesFailed && <p className="muted small">{t("clients.callHistoryUnavailable")}</p>}
        <ol className="timeline">
          {timeline.map((entry, i) => (
            <li key={i} className={`tl tl-${entry.kind}`}>
              <span className="tl-at">{entry.at ? dateTime(entry.at, entry.time_zone ?? chainZone) : ""}</span>
              <span className="tl-kind">{entry.kind === "touch" ? t("timeline.call") : t("timeline.appointment")}</span>
              <span className="tl-title">{entry.title}</span>
              <span className="muted small">{entry.detail}</span>
            </li>
          ))}
          {timeline.length === 0 && <li className="muted">{t("timeline.nothingYet")}</li>}
        </ol>
      </section>
    </div>
  );
}

const PREVIEW_FIELDS = [
  ["display_name", "client.name"],
  ["mobile", "client.mobile"],
  ["phones", "client.otherPhones"],
  ["email", "client.email"],
  ["date_of_birth", "client.dateOfBirth"],
  ["sms_consent", "client.sms"],
] as const;

function show(value: unknown, t: TFunction): string {
  if (Array.isArray(value)) return value.map((v) => phone(String(v))).join(", ");
  if (typeof value === "boolean") return value ? t("client.agrees") : t("common.no");
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
  const { t } = useTranslation();

  useEffect(() => {
    const id = params.get("primary");
    if (id) clients.get(id).then(setPrimary).catch((e: Error) => setError(e.message));
  }, [params]);

  useEffect(() => {
    setPreview(null);
    if (!primary || !duplicate) return;
    let live = true;
    clients
      .mergePreview(primary.client_id, duplicate.client_id)
      .then((p) => {
        if (!live) return;
        setPreview(p);
        setError(null);
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
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
      <h1>{t("merge.title")}</h1>
      <p className="muted">
        {t("merge.explain")}
      </p>
      <div className="merge-pick">
        <section className="card">
          <h2>{t("merge.primaryKept")}</h2>
          {primary ? (
            <p>
              <strong>{primary.display_name}</strong>{" "}
              <button type="button" className="link" onClick={() => setPrimary(null)}>
                {t("merge.change")}
              </button>
            </p>
          ) : (
            <ClientPicker label={t("merge.findPrimary")} onPick={setPrimary} exclude={duplicate ? [duplicate.client_id] : []} />
          )}
        </section>
        <section className="card">
          <h2>{t("merge.duplicateMerged")}</h2>
          {duplicate ? (
            <p>
              <strong>{duplicate.display_name}</strong>{" "}
              <button type="button" className="link" onClick={() => setDuplicate(null)}>
                {t("merge.change")}
              </button>
            </p>
          ) : (
            <ClientPicker label={t("merge.findDuplicate")} onPick={setDuplicate} exclude={primary ? [primary.client_id] : []} />
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
          <h2 id="preview-title">{t("merge.preview")}</h2>
          <div className="table-wrap">
            <table className="data merge-preview">
              <thead>
                <tr>
                  <th scope="col" />
                  <th scope="col">{t("merge.primary")}</th>
                  <th scope="col">{t("merge.duplicate")}</th>
                  <th scope="col">{t("merge.after")}</th>
                </tr>
              </thead>
              <tbody>
                {PREVIEW_FIELDS.map(([key, label]) => (
                  <tr key={key}>
                    <th scope="row">{t(label)}</th>
                    <td>{show(preview.primary[key], t)}</td>
                    <td>{show(preview.duplicate[key], t)}</td>
                    <td className={show(preview.result[key], t) !== show(preview.primary[key], t) ? "changed" : undefined}>
                      {show(preview.result[key], t)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p>
            {t("merge.moves", {
              appointments: t("merge.appointments", { count: Number(preview.appointments_to_move ?? 0) }),
              attendances: t("merge.attendances", { count: Number(preview.attendances_to_move ?? 0) }),
            })}
          </p>
          <div className="form-actions">
            <button type="button" className="primary" onClick={() => void merge()}>
              {t("merge.mergeInto", { name: primary?.display_name })}
            </button>
          </div>
        </section>
      )}
    </div>
  );
}
