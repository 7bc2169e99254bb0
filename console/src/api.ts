/**
 * The console's one API layer: every HTTP call and the notify WebSocket go through here.
 *
 * Everything is same-origin (`/api/<service>/...`): the console gateway (`make run`) or the
 * Kubernetes ingress routes each prefix to its service. The session is booking's
 * `sb_session` cookie (httponly, set at login), which every service accepts, so nothing
 * here handles tokens.
 *
 * Where a service's API is still being built, the shapes below follow its issue and are
 * marked "documented shape"; they are read tolerantly (unknown fields ignored, missing
 * ones optional) so the UI keeps working while the services grow.
 */
import { dateTime, duration } from "./format";
import i18n from "./i18n";

// --- transport -------------------------------------------------------------------------------

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

type Query = Record<string, string | number | boolean | null | undefined | (string | number)[]>;

/** Builds `?a=1&b=2&b=3`, skipping empty values; arrays repeat the parameter. */
export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** Turns FastAPI's error bodies (`detail` string, or a list of field errors) into one sentence. */
export function errorMessage(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => {
          const loc = Array.isArray(d?.loc) ? d.loc.filter((p: unknown) => p !== "body").join(".") : "";
          return loc ? `${loc}: ${d?.msg ?? ""}` : String(d?.msg ?? d);
        })
        .join("; ");
    }
  }
  return fallback;
}

/** Field → message from an error's body: FastAPI's `detail` list (`loc`, `msg`) or the
 * `errors` list (`field`, `message`) telephony answers its 422s with. */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError) || !error.body || typeof error.body !== "object") return out;
  const body = error.body as { detail?: unknown; errors?: unknown };
  if (Array.isArray(body.errors)) {
    for (const e of body.errors) {
      if (typeof e?.field === "string") out[e.field] = String(e.message ?? i18n.t("errors.invalid"));
    }
  }
  if (Array.isArray(body.detail)) {
    for (const d of body.detail) {
      const loc: unknown[] = Array.isArray(d?.loc) ? d.loc : [];
      const field = loc.filter((p) => p !== "body").join(".");
      if (field) out[field] = String(d.msg ?? i18n.t("errors.invalid"));
    }
  }
  return out;
}

/** A form's errors from a failed save: the named fields' own messages, and under `form`
 * the whole readable message when the refusal is about anything else (a rule, a list item). */
export function formErrors(error: unknown, fields: readonly string[]): Record<string, string> {
  const byField = fieldErrors(error);
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(byField)) if (fields.includes(field)) out[field] = message;
  if (Object.keys(out).length < Object.keys(byField).length || !Object.keys(byField).length) {
    out.form = (error as Error).message;
  }
  return out;
}

const unauthorizedListeners = new Set<() => void>();

/** Called when any request answers 401 (the session expired or was never there). */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; quiet401?: boolean } = {},
): Promise<T> {
  const init: RequestInit = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  let response: Response;
  try {
    response = await fetch(path + queryString(options.query), init);
  } catch {
    throw new ApiError(0, i18n.t("errors.unreachable"), null);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && !options.quiet401) unauthorizedListeners.forEach((l) => l());
    const fallback =
      response.status === 502 || response.status === 503
        ? i18n.t("errors.unavailable")
        : response.status === 404
          ? i18n.t("errors.notFound")
          : i18n.t("errors.failed", { status: response.status });
    throw new ApiError(response.status, errorMessage(body, fallback), body);
  }
  return body as T;
}

const get = <T>(path: string, query?: Query) => request<T>("GET", path, { query });
const post = <T>(path: string, body?: unknown) => request<T>("POST", path, { body });
const patch = <T>(path: string, body: unknown) => request<T>("PATCH", path, { body });
const put = <T>(path: string, body: unknown) => request<T>("PUT", path, { body });

// --- booking: session and directory ---------------------------------------------------------

export type Role = "admin" | "call_centre" | "clinic_staff" | "manager";

export interface Principal {
  operator_id: string;
  name: string;
  role: Role;
  call_center_id: string | null;
  extension: string | null;
}

/** 0 = Monday … 6 = Sunday, as booking counts weekdays. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** When a clinic is open on one weekday, in its local time (HH:MM). */
export interface OpeningHours {
  weekday: Weekday;
  opens: string;
  closes: string;
}

/** When a practitioner works at one clinic on one weekday, in the clinic's local time. */
export interface WorkingHours {
  clinic_id: string;
  weekday: Weekday;
  starts: string;
  ends: string;
}

export interface Clinic {
  clinic_id: string;
  name: string;
  city: string;
  address: string;
  time_zone: string;
  active: boolean;
  /** Hours before a visit its reminder goes out; 0: no reminders at this clinic. */
  reminder_hours_before?: number;
  /** Empty: none set (open whenever its practitioners work). */
  opening_hours?: OpeningHours[];
}

export type AnswerType = "text" | "number" | "yes_no" | "date";

export interface Question {
  question_id: string;
  text: string;
  required: boolean;
  answer_type?: AnswerType;
}

export type MeetingMethod = "in_person" | "video" | "phone";

export interface Service {
  service_id: string;
  name: string;
  duration_minutes: number;
  meeting_methods: MeetingMethod[];
  questions: Question[];
  active: boolean;
}

export interface Practitioner {
  practitioner_id: string;
  name: string;
  languages: string[];
  clinic_ids: string[];
  service_ids: string[];
  working_hours?: WorkingHours[];
  active: boolean;
}

/** A practitioner away: whole local days (`starts_on`…`ends_on`) or instants. */
export interface Absence {
  absence_id: string;
  practitioner_id: string;
  starts_at: string | null;
  ends_at: string | null;
  starts_on: string | null;
  ends_on: string | null;
  reason: string;
}

/** A clinic's closed local days, inclusive. */
export interface Closure {
  closure_id: string;
  clinic_id: string;
  starts_on: string;
  ends_on: string;
  reason: string;
}

export type StrandedReason = "clinic_closed" | "absence" | "outside_opening_hours" | "outside_working_hours";

/** A booked appointment that time off or changed hours leave stranded: never moved, listed. */
export interface ToReschedule {
  appointment_id: string;
  starts_at: string;
  ends_at: string;
  clinic_id: string;
  clinic_name: string;
  practitioner_id: string;
  practitioner_name: string;
  service_id: string;
  client_id: string;
  client_name: string;
  call_center_id: string | null;
  reason: StrandedReason;
  note: string;
}

export interface CallCenter {
  call_center_id: string;
  name: string;
  kind: "internal" | "external";
  active: boolean;
}

export interface Operator {
  operator_id: string;
  name: string;
  /** Admins and managers only. */
  username?: string;
  role: Role;
  call_center_id: string | null;
  extension: string | null;
  active: boolean;
  /** Admins and managers only: set by a password reset until the operator chooses one. */
  must_change_password?: boolean;
}

/** What creating an operator takes (the password is stored hashed, never shown again). */
export interface NewOperator {
  name: string;
  username: string;
  password: string;
  role: Role;
  call_center_id: string | null;
  extension: string | null;
}

/** Whether a failed login means the password was reset and a new one must be chosen. */
export function mustChangePassword(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    error.status === 403 &&
    Boolean((error.body as { must_change_password?: boolean } | null)?.must_change_password)
  );
}

export interface CancellationReason {
  reason_id: string;
  label: string;
  active: boolean;
}

interface Items<T> {
  items: T[];
}

export const auth = {
  login: (username: string, password: string) =>
    request<{ token: string; operator: Principal }>("POST", "/api/booking/auth/login", {
      body: { username, password },
      quiet401: true,
    }),
  me: () => request<Principal>("GET", "/api/booking/auth/me", { quiet401: true }),
  /** Choose a new password (after a reset, or one's own change); opens a session as login does. */
  changePassword: (username: string, currentPassword: string, newPassword: string) =>
    request<{ token: string; operator: Principal }>("POST", "/api/booking/auth/password", {
      body: { username, current_password: currentPassword, new_password: newPassword },
      quiet401: true,
    }),
  logout: () => post<void>("/api/booking/auth/logout"),
};

export const directory = {
  clinics: () => get<Items<Clinic>>("/api/booking/clinics").then((r) => r.items),
  services: () => get<Items<Service>>("/api/booking/services").then((r) => r.items),
  practitioners: () => get<Items<Practitioner>>("/api/booking/practitioners").then((r) => r.items),
  callCenters: () => get<Items<CallCenter>>("/api/booking/call-centers").then((r) => r.items),
  operators: () => get<Items<Operator>>("/api/booking/operators").then((r) => r.items),
  createClinic: (clinic: ClinicFields) => post<Clinic>("/api/booking/clinics", clinic),
  updateClinic: (clinicId: string, change: Partial<ClinicFields>) =>
    patch<Clinic>(`/api/booking/clinics/${encodeURIComponent(clinicId)}`, change),
  createService: (service: ServiceFields) => post<Service>("/api/booking/services", service),
  updateService: (serviceId: string, change: Partial<ServiceFields>) =>
    patch<Service>(`/api/booking/services/${encodeURIComponent(serviceId)}`, change),
  createPractitioner: (practitioner: PractitionerFields) =>
    post<Practitioner>("/api/booking/practitioners", practitioner),
  updatePractitioner: (practitionerId: string, change: Partial<PractitionerFields>) =>
    patch<Practitioner>(`/api/booking/practitioners/${encodeURIComponent(practitionerId)}`, change),
  createOperator: (operator: NewOperator) => post<Operator>("/api/booking/operators", operator),
  updateOperator: (
    operatorId: string,
    change: Partial<Pick<Operator, "name" | "role" | "call_center_id" | "extension" | "active">>,
  ) => patch<Operator>(`/api/booking/operators/${encodeURIComponent(operatorId)}`, change),
  /** A temporary password (the one given, or generated) the operator must replace at login. */
  resetPassword: (operatorId: string, password?: string) =>
    post<{ operator_id: string; temporary_password: string }>(
      `/api/booking/operators/${encodeURIComponent(operatorId)}/password-reset`,
      password ? { password } : {},
    ),
  createCallCenter: (callCenter: Pick<CallCenter, "name" | "kind">) =>
    post<CallCenter>("/api/booking/call-centers", callCenter),
  updateCallCenter: (callCenterId: string, change: Partial<Pick<CallCenter, "name" | "kind" | "active">>) =>
    patch<CallCenter>(`/api/booking/call-centers/${encodeURIComponent(callCenterId)}`, change),
  reasons: () =>
    get<Items<CancellationReason>>("/api/booking/cancellation-reasons").then((r) => r.items),
  createReason: (label: string) =>
    post<CancellationReason>("/api/booking/cancellation-reasons", { label }),
  updateReason: (reasonId: string, change: Partial<Pick<CancellationReason, "label" | "active">>) =>
    patch<CancellationReason>(
      `/api/booking/cancellation-reasons/${encodeURIComponent(reasonId)}`,
      change,
    ),
};

export type ClinicFields = Pick<Clinic, "name" | "city" | "address" | "time_zone" | "active"> & {
  opening_hours: OpeningHours[];
  reminder_hours_before: number;
};
export type ServiceFields = Omit<Service, "service_id">;
export type PractitionerFields = Omit<Practitioner, "practitioner_id" | "working_hours"> & {
  working_hours: WorkingHours[];
};

const absencesPath = (practitionerId: string) =>
  `/api/booking/practitioners/${encodeURIComponent(practitionerId)}/absences`;
const closuresPath = (clinicId: string) => `/api/booking/clinics/${encodeURIComponent(clinicId)}/closures`;

/** Time off (admin): practitioners' absences, clinics' closed days, and what they strand. */
export const timeOff = {
  absences: (practitionerId: string) => get<Items<Absence>>(absencesPath(practitionerId)).then((r) => r.items),
  addAbsence: (
    practitionerId: string,
    absence: { starts_on?: string; ends_on?: string; starts_at?: string; ends_at?: string; reason: string },
  ) => post<Absence>(absencesPath(practitionerId), absence),
  removeAbsence: (practitionerId: string, absenceId: string) =>
    request<void>("DELETE", `${absencesPath(practitionerId)}/${encodeURIComponent(absenceId)}`),
  closures: (clinicId: string) => get<Items<Closure>>(closuresPath(clinicId)).then((r) => r.items),
  addClosure: (clinicId: string, closure: { starts_on: string; ends_on?: string; reason: string }) =>
    post<Closure>(closuresPath(clinicId), closure),
  removeClosure: (clinicId: string, closureId: string) =>
    request<void>("DELETE", `${closuresPath(clinicId)}/${encodeURIComponent(closureId)}`),
  /** Booked appointments time off or hours strand (admin, call centre); nothing is moved. */
  toReschedule: (q: { clinic_id?: string; practitioner_id?: string } = {}) =>
    get<Items<ToReschedule>>("/api/booking/appointments/to-reschedule", q).then((r) => r.items),
};

// --- booking: clients and appointments ------------------------------------------------------

export interface Client {
  client_id: string;
  first_name: string;
  last_name: string;
  display_name: string;
  email: string | null;
  mobile: string | null;
  phones: string[];
  sms_consent: boolean;
  date_of_birth: string | null;
  /** False once the client unsubscribed from email (the link in every email). */
  email_consent?: boolean;
  /** The language of their notifications. */
  language?: Language;
}

export type Language = "ru" | "en";

export interface Appointment {
  appointment_id: string;
  starts_at: string;
  ends_at: string;
  status: "booked" | "cancelled";
  clinic_id: string;
  clinic_name: string;
  time_zone: string;
  practitioner_id: string;
  practitioner_name: string;
  service_id: string;
  service_name: string;
  meeting_method: MeetingMethod;
  client_id: string;
  client_name: string;
  attendee_client_ids: string[];
  attendee_notes: string;
  private_notes: string | null;
  /** The answers to the service's questions by question id; null for another call center's appointment. */
  answers: Record<string, string> | null;
  call_center_id: string | null;
  call_center_name: string | null;
  operator_id: string | null;
  call_id: string | null;
  touch_id: string | null;
  cancellation_reason: string | null;
  /** False for another call center's appointment: shown greyed out, never changed. */
  editable: boolean;
}

export interface ClientProfile extends Client {
  upcoming: Appointment[];
  past: Appointment[];
}

export interface NewClient {
  first_name: string;
  last_name: string;
  email?: string | null;
  mobile?: string | null;
  sms_consent?: boolean;
  date_of_birth?: string | null;
  phones?: string[];
  email_consent?: boolean;
  language?: Language;
}

export interface MergePreview {
  primary: Record<string, unknown>;
  duplicate: Record<string, unknown>;
  result: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Slot {
  practitioner_id: string;
  starts_at: string;
  ends_at: string;
}

export interface PooledSlot {
  starts_at: string;
  ends_at: string;
  practitioner_ids: string[];
}

export interface Availability {
  clinic_id: string;
  time_zone: string;
  date: string;
  slots: Slot[];
  anyone_available: PooledSlot[];
}

export interface BookRequest {
  service_id: string;
  clinic_id: string;
  meeting_method: MeetingMethod;
  starts_at: string;
  practitioner_id?: string | null;
  language?: string | null;
  client_id?: string | null;
  new_client?: NewClient | null;
  attendees?: { client_id?: string; new_client?: NewClient }[];
  attendee_notes?: string;
  private_notes?: string;
  answers?: Record<string, string>;
  call_id?: string | null;
  touch_id?: string | null;
}

/** Splits one search box into booking's name / phone / email criteria. */
export function clientSearchQuery(text: string): Query {
  const value = text.trim();
  if (value.includes("@")) return { email: value };
  const digits = value.replace(/\D/g, "");
  if (digits.length >= 3 && /^[\d\s()+\-.]+$/.test(value)) return { phone: value };
  return { name: value };
}

export const clients = {
  search: (text: string) =>
    get<Items<Client>>("/api/booking/clients", { ...clientSearchQuery(text), limit: 50 }).then(
      (r) => r.items,
    ),
  get: (clientId: string) =>
    get<ClientProfile>(`/api/booking/clients/${encodeURIComponent(clientId)}`),
  create: (client: NewClient) => post<Client>("/api/booking/clients", client),
  update: (clientId: string, change: Partial<NewClient>) =>
    patch<Client>(`/api/booking/clients/${encodeURIComponent(clientId)}`, change),
  mergePreview: (primaryId: string, duplicateId: string) =>
    get<MergePreview>("/api/booking/clients/merge-preview", {
      primary_client_id: primaryId,
      duplicate_client_id: duplicateId,
    }),
  merge: (primaryId: string, duplicateId: string) =>
    post<{ client: Client; appointments_moved: number }>("/api/booking/clients/merge", {
      primary_client_id: primaryId,
      duplicate_client_id: duplicateId,
    }),
};

export const appointments = {
  availability: (q: {
    clinic_id: string;
    service_id: string;
    date: string;
    practitioner_id?: string;
    language?: string;
  }) => get<Availability>("/api/booking/availability", q),
  book: (body: BookRequest) => post<Appointment>("/api/booking/appointments", body),
  get: (appointmentId: string) =>
    get<Appointment>(`/api/booking/appointments/${encodeURIComponent(appointmentId)}`),
  day: (q: { date: string; clinic_id?: string; practitioner_id?: string }) =>
    get<{ date: string; items: Appointment[] }>("/api/booking/appointments", q).then((r) => r.items),
  reschedule: (appointmentId: string, startsAt: string, practitionerId?: string) =>
    post<Appointment>(`/api/booking/appointments/${encodeURIComponent(appointmentId)}/reschedule`, {
      starts_at: startsAt,
      ...(practitionerId ? { practitioner_id: practitionerId } : {}),
    }),
  cancel: (appointmentId: string, reasonId: string | null, note: string) =>
    post<Appointment>(`/api/booking/appointments/${encodeURIComponent(appointmentId)}/cancel`, {
      reason_id: reasonId,
      note,
    }),
};

// --- booking: patient notifications -----------------------------------------------------------

export type NotificationKind = "booked" | "rescheduled" | "cancelled" | "reminder";
export type NotificationChannel = "email" | "sms";

/** One email or SMS to one recipient about one version of an appointment. */
export interface PatientNotification {
  notification_id: string;
  appointment_id: string;
  client_id: string;
  recipient_name: string;
  kind: NotificationKind;
  channel: NotificationChannel;
  address: string | null;
  language: Language;
  status: "queued" | "sent" | "failed" | "skipped";
  /** Why it failed or was skipped, or why it is being retried. */
  status_reason: string | null;
  attempts: number;
  subject: string | null;
  body: string | null;
  /** Sent at; else when it is (next) due; else when it was settled. */
  at: string;
  sent_at: string | null;
  due_at: string;
}

export interface NotificationTemplate {
  kind: NotificationKind;
  channel: NotificationChannel;
  language: Language;
  subject: string;
  body: string;
  customised: boolean;
  updated_by: string | null;
  updated_at: string | null;
  default_subject: string;
  default_body: string;
}

export interface ClinicTemplates {
  clinic_id: string;
  clinic_name: string;
  reminder_hours_before: number;
  variables: Record<string, string>;
  items: NotificationTemplate[];
}

type TemplateKey = { kind: NotificationKind; channel: NotificationChannel; language: Language };

const templatePath = (clinicId: string, k: TemplateKey) =>
  `/api/booking/notification-templates/${encodeURIComponent(clinicId)}/${k.kind}/${k.channel}/${k.language}`;

export const notifications = {
  forClient: (clientId: string) =>
    get<Items<PatientNotification>>(`/api/booking/clients/${encodeURIComponent(clientId)}/notifications`).then(
      (r) => r.items,
    ),
  forAppointment: (appointmentId: string) =>
    get<Items<PatientNotification>>(
      `/api/booking/appointments/${encodeURIComponent(appointmentId)}/notifications`,
    ).then((r) => r.items),
  templates: (clinicId: string) =>
    get<ClinicTemplates>("/api/booking/notification-templates", { clinic_id: clinicId }),
  saveTemplate: (clinicId: string, key: TemplateKey, template: { subject: string; body: string }) =>
    put<ClinicTemplates>(templatePath(clinicId, key), template),
  resetTemplate: (clinicId: string, key: TemplateKey) =>
    request<ClinicTemplates>("DELETE", templatePath(clinicId, key)),
  preview: (clinicId: string, key: TemplateKey, template: { subject: string; body: string }) =>
    post<{ subject: string; body: string }>("/api/booking/notification-templates/preview", {
      clinic_id: clinicId,
      ...key,
      ...template,
    }),
};

/** The call center holding a slot, from booking's 409 `held_by`. */
export function slotHolder(error: unknown): string | null {
  if (error instanceof ApiError && error.status === 409 && error.body && typeof error.body === "object") {
    const heldBy = (error.body as { held_by?: { call_center_name?: string | null } }).held_by;
    if (heldBy) return heldBy.call_center_name ?? i18n.t("booking.anotherBooking");
  }
  return null;
}

// --- analytics: call log and calls report ---------------------------------------------------

export type CallType = "incoming" | "outgoing" | "internal";
export type Disposition = "answered" | "missed" | "busy" | "failed";

/** One call-log row. The fixed fields exist today; the rest follow issue 6 (documented shape). */
export interface CallLogRow {
  call_id: string;
  started_at: string;
  call_type: CallType;
  src: string;
  dst: string;
  disposition: Disposition | null;
  admin: string | null;
  extension: string | null;
  clinic_id: string | null;
  wait_seconds: number | null;
  talk_seconds: number | null;
  total_seconds: number | null;
  /** Whether the PBX recorded the call. */
  has_recording?: boolean;
  /** The platform URL that streams the recording (never the PBX's own address). */
  recording?: string | null;
  started_at_local?: string | null;
  time_zone?: string | null;
  clinic_name?: string | null;
  admin_id?: string | null;
  admin_name?: string | null;
  contact_id?: string | null;
  contact_kind?: string | null;
  contact_name?: string | null;
  tags?: string[] | null;
  called_back?: boolean | null;
  callback_call_id?: string | null;
  callback_delay_seconds?: number | null;
  [key: string]: unknown;
}

export interface CallFilters {
  /** First day (YYYY-MM-DD), read by analytics in each call's clinic-local time. */
  from?: string;
  /** Last day (YYYY-MM-DD), inclusive. */
  to?: string;
  callTypes: CallType[];
  admins: string[];
  search: string;
  dispositions: Disposition[];
  missedOnly: boolean;
  calledBackOnly: boolean;
  phoneContains: string;
  talkMin?: number | null;
  talkMax?: number | null;
  totalMin?: number | null;
  totalMax?: number | null;
  /** Public numbers (DIDs, E.164) the calls came in on; any of them. */
  dids?: string[];
}

export const emptyCallFilters = (): CallFilters => ({
  callTypes: [],
  admins: [],
  search: "",
  dispositions: [],
  missedOnly: false,
  calledBackOnly: false,
  phoneContains: "",
});

/** The analytics query parameters for a set of filters (one place to follow the API). */
export function callFilterQuery(f: CallFilters): Query {
  return {
    from: f.from,
    to: f.to,
    call_type: f.callTypes,
    admin: f.admins,
    q: f.search.trim(),
    disposition: f.dispositions,
    missed: f.missedOnly || undefined,
    called_back: f.calledBackOnly || undefined,
    phone: f.phoneContains.trim(),
    talk_min: f.talkMin ?? undefined,
    talk_max: f.talkMax ?? undefined,
    total_min: f.totalMin ?? undefined,
    total_max: f.totalMax ?? undefined,
    did: f.dids ?? [],
  };
}

/** A sort as the call log takes it: a column, newest/largest first with `-`. */
function sortQuery(sort?: string): Query {
  if (!sort) return {};
  return sort.startsWith("-") ? { sort: sort.slice(1), order: "desc" } : { sort, order: "asc" };
}

export interface CallLogPage {
  items: CallLogRow[];
  next_cursor: string | null;
}

export type ReportGrouping = "day" | "hour" | "employee_day" | "employee_month" | "did";

/** A public number as analytics knows it (from telephony): its description labels reports. */
export interface ReportDid {
  did: string;
  description: string | null;
  clinic_id: string | null;
  active: boolean;
}

/** A report row, read tolerantly: group keys plus per-call-type counts and averages. */
export type ReportRow = Record<string, unknown>;

export interface CallsReport {
  group_by?: ReportGrouping;
  items: ReportRow[];
  totals?: ReportRow | null;
}

export const analytics = {
  calls: (f: CallFilters, opts: { cursor?: string | null; limit?: number; sort?: string } = {}) =>
    get<CallLogPage>("/api/analytics/calls", {
      ...callFilterQuery(f),
      limit: opts.limit ?? 50,
      cursor: opts.cursor ?? undefined,
      ...sortQuery(opts.sort),
    }),
  callsCsvUrl: (f: CallFilters, sort?: string) =>
    "/api/analytics/calls" + queryString({ ...callFilterQuery(f), ...sortQuery(sort), format: "csv" }),
  report: async (groupBy: ReportGrouping, f: CallFilters): Promise<CallsReport> => {
    // `rows`: the group keys (day, hour, admin_id + admin_name, month) and, per call type
    // and `total`, {count, answered, missed, avg_talk_seconds, avg_wait_seconds}. A report
    // pages (`next_cursor`); the table and chart show every group, so follow the pages.
    const items: ReportRow[] = [];
    let totals: ReportRow | null = null;
    let cursor: string | undefined = undefined;
    for (;;) {
      const body: Record<string, unknown> = await get<Record<string, unknown>>(
        "/api/analytics/reports/calls",
        { ...callFilterQuery(f), group_by: groupBy, limit: 5000, cursor },
      );
      items.push(...((body.items ?? body.rows ?? []) as ReportRow[]));
      totals = (body.totals ?? body.total ?? null) as ReportRow | null;
      cursor = (body.next_cursor as string | null | undefined) ?? undefined;
      if (!cursor) break;
    }
    return { group_by: groupBy, items, totals };
  },
  reportCsvUrl: (groupBy: ReportGrouping, f: CallFilters) =>
    "/api/analytics/reports/calls" + queryString({ ...callFilterQuery(f), group_by: groupBy, format: "csv" }),
  serviceLevel: async (groupBy: ReportGrouping, f: CallFilters): Promise<ServiceLevelReport> => {
    // The calls report's groups with the queue's figures of incoming calls; every page.
    const rows: ServiceLevelRow[] = [];
    let targets: ServiceLevelReport["targets"] = { default_seconds: 20, clinics: {} };
    let cursor: string | undefined = undefined;
    for (;;) {
      const body: Record<string, unknown> = await get<Record<string, unknown>>(
        "/api/analytics/reports/service-level",
        { ...callFilterQuery(f), group_by: groupBy, limit: 5000, cursor },
      );
      rows.push(...((body.rows ?? []) as ServiceLevelRow[]));
      targets = (body.targets as ServiceLevelReport["targets"]) ?? targets;
      cursor = (body.next_cursor as string | null | undefined) ?? undefined;
      if (!cursor) break;
    }
    return { group_by: groupBy, rows, targets };
  },
  serviceLevelCsvUrl: (groupBy: ReportGrouping, f: CallFilters) =>
    "/api/analytics/reports/service-level" + queryString({ ...callFilterQuery(f), group_by: groupBy, format: "csv" }),
  /** When the calls come: incoming and missed by clinic-local hour and weekday x hour. */
  /** The chain's public numbers and their descriptions, for the reports' filter by number. */
  dids: () => get<Items<ReportDid>>("/api/analytics/dids").then((r) => r.items),
  when: (f: CallFilters) => get<WhenReport>("/api/analytics/reports/when", callFilterQuery(f)),
  whenCsvUrl: (f: CallFilters) => "/api/analytics/reports/when" + queryString({ ...callFilterQuery(f), format: "csv" }),
  conversion: (groupBy: ConversionGroupBy, f: CallFilters) =>
    get<ConversionReport>("/api/analytics/reports/conversion", { ...callFilterQuery(f), group_by: groupBy }),
  conversionCsvUrl: (groupBy: ConversionGroupBy, f: CallFilters) =>
    "/api/analytics/reports/conversion" + queryString({ ...callFilterQuery(f), group_by: groupBy, format: "csv" }),
};

/** Incoming calls of one hour of the day, or of one weekday (ISO, 1 = Monday) x hour. */
export type ConversionGroupBy = "admin" | "clinic" | "did" | "day" | "month";

/** The funnel's counts and each step's rate (0-1, null with nothing to divide). */
export interface ConversionFigures {
  incoming: number;
  answered: number;
  with_touch: number;
  with_appointment: number;
  cancelled: number;
  appointments: number;
  appointments_cancelled: number;
  answer_rate: number | null;
  touch_rate: number | null;
  booking_rate: number | null;
  cancellation_rate: number | null;
  conversion_rate: number | null;
}

export interface ConversionRow extends ConversionFigures {
  admin_id?: string | null;
  admin_name?: string | null;
  clinic_id?: string | null;
  clinic_name?: string | null;
  did?: string | null;
  did_description?: string | null;
  day?: string | null;
  month?: string | null;
}

export interface ConversionReport {
  group_by: ConversionGroupBy;
  total: ConversionFigures;
  rows: ConversionRow[];
  truncated: boolean;
  /** "rollup" or "call_log": where the figures were counted. */
  source: string;
}

export interface WhenCell {
  weekday?: number;
  hour: number;
  incoming: number;
  missed: number;
  missed_share: number | null;
}

/** Every hour (24) and every weekday x hour cell (168), zeros included. */
export interface WhenReport {
  source: string;
  by_hour: WhenCell[];
  by_weekday_hour: WhenCell[];
}

/** A service level row: group keys plus the queue's figures (rates 0-1, seconds). */
export type ServiceLevelRow = Record<string, unknown> & {
  incoming?: number;
  answer_rate?: number | null;
  abandonment_rate?: number | null;
  service_level?: number | null;
  avg_speed_of_answer_seconds?: number | null;
  p90_speed_of_answer_seconds?: number | null;
  callback_rate?: number | null;
  median_callback_delay_seconds?: number | null;
};

export interface ServiceLevelReport {
  group_by: ReportGrouping;
  rows: ServiceLevelRow[];
  targets: { default_seconds: number; clinics: Record<string, number> };
}

// --- telephony: integration settings, DIDs and extensions ------------------------------------

export type IntegrationKind = "calltouch" | "callmarker";

/** Documented shape (issue 3): the token is write-only, so reads say only whether one is set. */
export interface IntegrationSettings {
  enabled: boolean;
  call_data_url: string;
  request_data_url: string;
  integration_id: string;
  time_lag_minutes: number;
  token_set?: boolean;
}

export interface IntegrationUpdate {
  enabled: boolean;
  call_data_url: string;
  request_data_url: string;
  integration_id: string;
  time_lag_minutes: number;
  token?: string;
}

/** What the PBX said to a click-to-call (`POST /api/telephony/click-to-call`). */
export interface ClickToCallResult {
  status: "ringing" | "failed";
  reason: string | null;
  extension: string;
  number: string;
}

/** One of the chain's public numbers (E.164) and the clinic its calls belong to. */
export interface Did {
  did: string;
  clinic_id: string;
  description: string | null;
  updated_at: string;
}

export interface DidInput {
  did: string;
  clinic_id: string;
  description: string | null;
}

/** An extension, the clinic it rings in, and everyone sharing it; `configured` is false
 * when it is known only from an operator's record. */
export interface TelephonyExtension {
  extension: string;
  clinic_id: string | null;
  description: string | null;
  configured: boolean;
  updated_at: string | null;
  operators: { operator_id: string; name: string; role: string; call_center_id: string | null }[];
}

export interface ExtensionInput {
  extension: string;
  clinic_id: string | null;
  description: string | null;
}

export const telephony = {
  /** Ring the operator's own extension, then dial `number`; a refusal is an ApiError whose body has `reason`. */
  clickToCall: (number: string) => post<ClickToCallResult>("/api/telephony/click-to-call", { number }),
  integration: async (kind: IntegrationKind): Promise<IntegrationSettings> => {
    const body = await get<Record<string, unknown>>(
      `/api/telephony/settings/integrations/${kind}`,
    );
    return {
      enabled: Boolean(body.enabled),
      call_data_url: String(body.call_data_url ?? ""),
      request_data_url: String(body.request_data_url ?? ""),
      integration_id: String(body.integration_id ?? ""),
      time_lag_minutes: Number(body.time_lag_minutes ?? 0),
      token_set: Boolean(body.token_set ?? body.has_token ?? (body.token ? true : false)),
    };
  },
  saveIntegration: (kind: IntegrationKind, settings: IntegrationUpdate) =>
    put<Record<string, unknown>>(`/api/telephony/settings/integrations/${kind}`, settings),
  dids: () => get<Items<Did>>("/api/telephony/dids").then((r) => r.items),
  addDid: (did: DidInput) => post<Did>("/api/telephony/dids", did),
  changeDid: (did: string, change: Omit<DidInput, "did">) =>
    put<Did>(`/api/telephony/dids/${encodeURIComponent(did)}`, change),
  removeDid: (did: string) => request<void>("DELETE", `/api/telephony/dids/${encodeURIComponent(did)}`),
  extensions: () => get<Items<TelephonyExtension>>("/api/telephony/extensions").then((r) => r.items),
  addExtension: (extension: ExtensionInput) => post<TelephonyExtension>("/api/telephony/extensions", extension),
  changeExtension: (extension: string, change: Omit<ExtensionInput, "extension">) =>
    put<TelephonyExtension>(`/api/telephony/extensions/${encodeURIComponent(extension)}`, change),
  removeExtension: (extension: string) =>
    request<void>("DELETE", `/api/telephony/extensions/${encodeURIComponent(extension)}`),
};

// --- crm-touch: identification and timeline -------------------------------------------------

/** One contact behind a number (a patient, i.e. a booking client, or a lead). */
export interface Contact {
  contact_id: string;
  kind: "patient" | "lead" | string;
  display_name: string;
  /** The booking client for a patient (crm-touch's patient ids are booking's client ids). */
  client_id?: string | null;
  details?: Record<string, unknown> | string | null;
  /** The console path notify suggests (`/clients/<id>` or `/leads/<id>`). */
  link?: string | null;
}

export interface TimelineEntry {
  kind: "touch" | "appointment" | string;
  at: string;
  time_zone?: string;
  title: string;
  detail: string;
}

function readContact(raw: Record<string, unknown>): Contact {
  const kind = String(raw.kind ?? raw.contact_kind ?? "patient");
  const id = String(raw.contact_id ?? raw.client_id ?? raw.id ?? "");
  return {
    contact_id: id,
    kind,
    display_name: String(raw.display_name ?? raw.name ?? id),
    client_id: (raw.client_id as string | undefined) ?? (kind === "patient" ? id : null),
    details: (raw.details ?? raw.key_details ?? null) as Contact["details"],
    link: (raw.link as string | undefined) ?? null,
  };
}

export const crm = {
  identify: async (phone: string): Promise<{ contacts: Contact[]; ambiguous: boolean }> => {
    const body = await get<Record<string, unknown>>("/api/crm/identify", { phone });
    const candidates = (body.candidates ?? []) as Record<string, unknown>[];
    const list = candidates.length ? candidates : body.contact ? [body.contact as Record<string, unknown>] : [];
    const contacts = list.map(readContact);
    return { contacts, ambiguous: Boolean(body.ambiguous) || contacts.length > 1 };
  },
  /** Touches of a contact (one per call), newest first. */
  touches: async (contactId: string): Promise<TimelineEntry[]> => {
    const body = await get<Record<string, unknown>>("/api/crm/touches", { contact_id: contactId, limit: 100 });
    return ((body.items ?? []) as Record<string, unknown>[]).map(touchEntry);
  },
  /** A contact (patient or lead) with its numbers and key details. */
  contact: (contactId: string) =>
    get<Record<string, unknown>>(`/api/crm/contacts/${encodeURIComponent(contactId)}`).then(readContactView),
  /** A contact's touches and appointments, newest first, worded in the current language;
   * an appointment's time is shown in `timeZone` (the chain's, as the entries' own times). */
  timeline: async (contactId: string, timeZone = "UTC"): Promise<TimelineEntry[]> => {
    const body = await get<Record<string, unknown>>(`/api/crm/contacts/${encodeURIComponent(contactId)}/timeline`);
    return ((body.items ?? []) as Record<string, unknown>[]).map((e) => {
      if (e.type === "touch" && e.touch) return touchEntry(e.touch as Record<string, unknown>);
      const a = (e.appointment ?? {}) as Record<string, unknown>;
      const startsAt = a.starts_at ? String(a.starts_at) : null;
      return {
        kind: "appointment",
        at: String(e.at ?? ""),
        title:
          a.status === "cancelled" ? i18n.t("timeline.appointmentCancelled") : i18n.t("timeline.appointmentBooked"),
        detail: [
          startsAt ? i18n.t("timeline.appointmentFor", { time: dateTime(startsAt, timeZone) }) : "",
          a.clinic_id,
          a.practitioner_id,
        ]
          .filter(Boolean)
          .join(" · "),
      };
    });
  },
};

export type TouchStatus = "new" | "in_progress" | "done";
export type TouchResult = "booked" | "information" | "complaint" | "no_answer" | "other";

/** A call's touch as the current-call panel edits it (crm-touch's `/touches`). */
export interface Touch {
  touch_id: string;
  call_id: string | null;
  status: TouchStatus;
  result: TouchResult | null;
  notes: string;
  appointment_id: string | null;
}

function readTouch(raw: Record<string, unknown>): Touch {
  return {
    touch_id: String(raw.touch_id ?? ""),
    call_id: (raw.call_id ?? null) as string | null,
    status: String(raw.status ?? "new") as TouchStatus,
    result: (raw.result ?? null) as TouchResult | null,
    notes: String(raw.notes ?? ""),
    appointment_id: (raw.appointment_id ?? null) as string | null,
  };
}

export const touches = {
  /** The touch of a call, or null while touch creation (the Calltouch switch) is off. */
  ofCall: async (callId: string): Promise<Touch | null> => {
    const body = await get<Record<string, unknown>>("/api/crm/touches", { call_id: callId, limit: 1 });
    const first = ((body.items ?? []) as Record<string, unknown>[])[0];
    return first ? readTouch(first) : null;
  },
  update: (touchId: string, change: Partial<Pick<Touch, "status" | "result" | "notes">>) =>
    patch<Record<string, unknown>>(`/api/crm/touches/${encodeURIComponent(touchId)}`, change).then(readTouch),
};

export interface ContactView extends Contact {
  phones: string[];
  status: string;
  merged_into: string | null;
}

function readContactView(raw: Record<string, unknown>): ContactView {
  return {
    ...readContact(raw),
    phones: (raw.phones ?? []) as string[],
    status: String(raw.status ?? ""),
    merged_into: (raw.merged_into ?? null) as string | null,
  };
}

const TOUCH_STATUSES: readonly string[] = ["new", "in_progress", "done"] satisfies TouchStatus[];
const TOUCH_RESULTS: readonly string[] = ["booked", "information", "complaint", "no_answer", "other"] satisfies TouchResult[];
const DISPOSITIONS: readonly string[] = ["answered", "missed", "busy", "failed"] satisfies Disposition[];

/** A touch as a timeline line in the current language (values crm-touch adds later stay as sent). */
function touchEntry(raw: Record<string, unknown>): TimelineEntry {
  const t = i18n.t;
  const status = String(raw.status ?? "");
  const result = String(raw.result ?? "");
  const disposition = String(raw.disposition ?? "");
  let title =
    raw.direction === "outgoing"
      ? t("timeline.outgoingCall")
      : raw.direction === "internal"
        ? t("timeline.internalCall")
        : t("timeline.incomingCall");
  if (raw.channel && raw.channel !== "call") title = t("timeline.viaChannel", { title, channel: String(raw.channel) });
  if (disposition) {
    // In the middle of the line: "Incoming call, answered".
    const shown = DISPOSITIONS.includes(disposition)
      ? t(`disposition.${disposition as Disposition}`).toLocaleLowerCase(i18n.language)
      : disposition;
    title = t("timeline.withDisposition", { title, disposition: shown });
  }
  return {
    kind: "touch",
    at: String(raw.created_at ?? ""),
    title,
    detail: [
      TOUCH_STATUSES.includes(status) ? t(`touch.status.${status as TouchStatus}`) : status,
      TOUCH_RESULTS.includes(result) ? t(`touch.result.${result as TouchResult}`) : result,
      typeof raw.talk_seconds === "number" ? t("timeline.talk", { duration: duration(raw.talk_seconds) }) : "",
      raw.notes ? String(raw.notes) : "",
    ]
      .filter(Boolean)
      .join(" · "),
  };
}

// --- analytics: the call-back worklist -----------------------------------------------------

export type CloseResult = "no_answer" | "wrong_number" | "resolved_elsewhere";

/** A number's missed calls nobody has called back yet (see services/analytics/README.md). */
export interface Callback {
  call_id: string;
  number: string;
  attempts: number;
  first_missed_at: string;
  last_missed_at: string;
  age_seconds: number;
  clinic_id: string | null;
  clinic_name: string | null;
  extension: string | null;
  contact_id: string | null;
  contact_kind: "patient" | "lead" | null;
  contact_name: string | null;
  claimed_by: { operator_id: string; name: string; claimed_at: string } | null;
}

export interface ClinicWorklist {
  clinic_id: string | null;
  clinic_name: string | null;
  open: number;
  claimed: number;
  oldest_missed_at: string;
  oldest_age_seconds: number;
}

export interface WorklistCount {
  open: number;
  claimed: number;
  oldest_missed_at: string | null;
  oldest_age_seconds: number | null;
  clinics: ClinicWorklist[];
}

export const worklist = {
  list: (clinic: string) =>
    get<{ items: Callback[]; more: boolean }>("/api/analytics/worklist", { clinic, limit: 200 }),
  count: () => get<WorklistCount>("/api/analytics/worklist/count"),
  claim: (callId: string) =>
    post<{ callback: Callback | null }>(`/api/analytics/worklist/${encodeURIComponent(callId)}/claim`),
  release: (callId: string) =>
    post<{ callback: Callback | null }>(`/api/analytics/worklist/${encodeURIComponent(callId)}/release`),
  close: (callId: string, result: CloseResult) =>
    post<{ callback: Callback | null }>(`/api/analytics/worklist/${encodeURIComponent(callId)}/close`, { result }),
};

// --- analytics: the audit trail (admins) ---------------------------------------------------

/** One audited action: who did what to which record, when and from where. */
export interface AuditRecord {
  record_id: number;
  event_id: string;
  occurred_at: string;
  producer: string;
  actor_id: string;
  actor_name: string;
  actor_role: Role;
  action: string;
  subject_type: string;
  subject_id: string | null;
  details: Record<string, unknown>;
  client_address: string | null;
  user_agent: string | null;
}

export interface AuditFilters {
  actor?: string;
  action?: string;
  subject_type?: string;
  subject_id?: string;
  /** Instants with an offset (ISO 8601). */
  from?: string;
  to?: string;
}

export const audit = {
  list: (f: AuditFilters, before?: number | null) =>
    get<{ items: AuditRecord[]; next_before: number | null }>("/api/analytics/audit", {
      ...f,
      limit: 100,
      before: before ?? undefined,
    }),
};

// --- notify: the live session ---------------------------------------------------------------

/** An incoming-call pop-up as the overlay shows it. */
export interface Popup {
  call_id: string;
  caller: string;
  caller_e164?: string | null;
  clinic_id?: string | null;
  clinic_name?: string | null;
  extension?: string | null;
  started_at?: string | null;
  /** `known`, `unknown`, `ambiguous`, or `pending` until crm-touch has identified the caller. */
  identification?: string;
  contact?: Contact | null;
  candidates: Contact[];
  touch_id?: string | null;
}

export interface PopupClosed {
  call_id: string;
  reason: string;
  handled_by?: string | null;
}

/** The call this operator answered or took (`call.current`), then its wrap-up. */
export interface CurrentCall extends Popup {
  state: "on_call" | "wrap_up";
  answered_at: string | null;
  ended_at: string | null;
  talk_seconds: number | null;
}

export type NotifyMessage =
  | { type: "popup"; popup: Popup }
  | { type: "closed"; closed: PopupClosed }
  | { type: "worklist" }
  | { type: "current"; current: CurrentCall }
  | { type: "current_cleared"; call_id: string; reason: string }
  | { type: "other"; raw: unknown };

function readPopup(raw: Record<string, unknown>): Popup {
  const inner = (raw.popup ?? raw.payload ?? raw.data ?? raw) as Record<string, unknown>;
  const contactRaw = inner.contact as Record<string, unknown> | null | undefined;
  const candidates = ((inner.candidates ?? []) as Record<string, unknown>[]).map(readContact);
  const clinic = inner.clinic as Record<string, unknown> | string | null | undefined;
  // notify sends the caller as {display: "+7 916 123-45-67", number: "+79161234567"}.
  const rawCaller = inner.caller ?? inner.caller_number ?? inner.phone;
  const caller =
    rawCaller && typeof rawCaller === "object"
      ? {
          display: String((rawCaller as Record<string, unknown>).display ?? (rawCaller as Record<string, unknown>).number ?? ""),
          number: ((rawCaller as Record<string, unknown>).number ?? null) as string | null,
        }
      : { display: String(rawCaller ?? ""), number: rawCaller ? String(rawCaller) : null };
  return {
    call_id: String(inner.call_id ?? raw.call_id ?? ""),
    caller: caller.display,
    caller_e164: caller.number,
    clinic_id: (inner.clinic_id ?? (typeof clinic === "object" && clinic ? (clinic.id ?? clinic.clinic_id) : null) ?? null) as
      | string
      | null,
    clinic_name: (inner.clinic_name ??
      (typeof clinic === "object" && clinic ? clinic.name : typeof clinic === "string" ? clinic : null) ??
      null) as string | null,
    extension: (inner.extension ?? null) as string | null,
    started_at: (inner.ringing_since ?? inner.started_at ?? null) as string | null,
    identification: String(inner.identification ?? (contactRaw ? "known" : "unknown")),
    contact: contactRaw ? readContact(contactRaw) : null,
    candidates,
    touch_id: (inner.touch_id ?? null) as string | null,
  };
}

/** Reads one notify message (`call.popup`, its update, `call.popup.closed`). */
export function readNotifyMessage(data: string): NotifyMessage {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(data);
  } catch {
    return { type: "other", raw: data };
  }
  const type = String(raw.type ?? raw.event ?? "");
  if (type === "call.popup" || type === "call.popup.updated" || type === "call.popup.update") {
    return { type: "popup", popup: readPopup(raw) };
  }
  if (type === "call.current") {
    return {
      type: "current",
      current: {
        ...readPopup(raw),
        state: raw.state === "wrap_up" ? "wrap_up" : "on_call",
        answered_at: (raw.answered_at ?? null) as string | null,
        ended_at: (raw.ended_at ?? null) as string | null,
        talk_seconds: typeof raw.talk_seconds === "number" ? raw.talk_seconds : null,
      },
    };
  }
  if (type === "call.current.cleared") {
    return { type: "current_cleared", call_id: String(raw.call_id ?? ""), reason: String(raw.reason ?? "") };
  }
  if (type === "call.popup.closed") {
    const inner = (raw.payload ?? raw.data ?? raw) as Record<string, unknown>;
    const by = inner.handled_by ?? inner.by ?? inner.operator_name ?? inner.answered_by;
    return {
      type: "closed",
      closed: {
        call_id: String(inner.call_id ?? raw.call_id ?? ""),
        reason: String(inner.reason ?? "closed"),
        handled_by:
          by && typeof by === "object"
            ? String((by as Record<string, unknown>).name ?? (by as Record<string, unknown>).operator_id ?? "")
            : ((by as string | undefined) ?? (inner.handled_by_name as string | undefined) ?? null),
      },
    };
  }
  if (type === "worklist.changed") return { type: "worklist" };
  return { type: "other", raw };
}

/** The notify WebSocket URL on this origin (the session cookie authenticates it). */
export function notifySocketUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/api/notify/ws`;
}

/** The message that tells notify this operator takes the call ("I'll take it"). */
export const takeCallMessage = (callId: string) => JSON.stringify({ type: "take", call_id: callId });

/** The message that ends this operator's wrap-up of a call without a result. */
export const dismissWrapUpMessage = (callId: string) => JSON.stringify({ type: "dismiss", call_id: callId });
